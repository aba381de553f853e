"""MCP at /mcp, driven by the official `mcp` Python client (streamable HTTP) as an agent framework would: the
assistants are tools with their input schemas, and calling one runs it through the run engine. Expected shapes
are the official server's (langgraph-api 0.16.7): stateless, no session id, the output as `repr` of the values."""

from __future__ import annotations

import ast
import asyncio
import uuid

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import PaginatedRequestParams

pytestmark = pytest.mark.integration

ACCEPT = {"Accept": "application/json, text/event-stream"}
NO_VERSION = "Invalid JSON-RPC message. Missing or invalid jsonrpc version."


@pytest.fixture(scope="module")
def echo_tool(stack) -> str:
    """An assistant of the echo graph with a name of its own, so the tool name is this test's alone."""
    from langgraph_sdk import get_sync_client

    name = f"mcp echo {uuid.uuid4().hex[:8]}"
    get_sync_client(url=stack.url).assistants.create("echo", name=name, description="Echoes the last message.")
    return name.replace(" ", "_")


async def _with_session(url: str, work):
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        init = await session.initialize()
        return init, await work(session)


async def _all_tools(session: ClientSession) -> list:
    tools, cursor = [], None
    while True:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            return tools


def test_the_mcp_client_lists_the_assistants_as_tools_with_their_input_schema(stack, echo_tool):
    init, tools = asyncio.run(_with_session(f"{stack.url}/mcp", _all_tools))

    assert init.server_info.name == "LangGraph" and init.capabilities.tools.list_changed is False
    tool = next(t for t in tools if t.name == echo_tool)
    assert tool.title == echo_tool.replace("_", " ") and tool.description == "Echoes the last message."
    schema = tool.input_schema
    assert schema["type"] == "object" and set(schema["properties"]) == {"messages", "count", "value"}
    # A list of LangChain messages is offered to the model as one string: the user's message.
    assert schema["properties"]["messages"] == {
        "type": "string",
        "title": "Messages",
        "description": "The user message to send to the agent.",
    }
    assert "$defs" not in schema
    assert tool.annotations.read_only_hint is False and tool.annotations.open_world_hint is True


def test_calling_a_tool_runs_the_assistant_and_answers_its_output(stack, echo_tool, client):
    async def call(session):
        return await session.call_tool(echo_tool, {"messages": "hi there"})

    _, result = asyncio.run(_with_session(f"{stack.url}/mcp", call))

    assert result.is_error is False
    values = ast.literal_eval(result.content[0].text)  # officially the repr of the run's values
    assert [(m["type"], m["content"]) for m in values["messages"]] == [("human", "hi there"), ("ai", "echo: hi there")]
    assert values["count"] == 1


def test_a_failing_run_is_a_tool_error_and_an_unknown_tool_a_json_rpc_error(stack):
    async def calls(session):
        failed = await session.call_tool("fail", {"value": "x"})
        with pytest.raises(MCPError, match="Unknown tool: no-such-tool"):
            await session.call_tool("no-such-tool", {})
        return failed

    _, failed = asyncio.run(_with_session(f"{stack.url}/mcp", calls))
    assert failed.is_error is True and failed.content[0].text == "ValueError"


def test_the_server_is_stateless_no_session_id_and_no_session_to_end(stack):
    url = f"{stack.url}/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}
    response = httpx.post(url, json=init, headers=ACCEPT)
    assert response.status_code == 200 and "mcp-session-id" not in response.headers
    assert response.json()["result"]["protocolVersion"] == "2025-06-18"
    # A session id a client sends anyway changes nothing; there is nothing to end or to stream.
    ping = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 0, "method": "ping"}, headers={**ACCEPT, "mcp-session-id": "x"}
    )
    assert ping.json() == {"jsonrpc": "2.0", "id": 0, "result": {}}
    assert (httpx.delete(url, headers={"mcp-session-id": "x"}).status_code, httpx.get(url).status_code) == (404, 405)
    unsupported = {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"protocolVersion": "1999-01-01"}}
    assert httpx.post(url, json=unsupported, headers=ACCEPT).json()["result"]["protocolVersion"] == "2025-11-25"


@pytest.mark.parametrize(
    ("body", "accept", "status", "answer"),
    [
        (b"{bad", ACCEPT, 400, {"error": "Invalid JSON"}),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', {"Accept": "text/html"}, 400, None),
        (b"[1]", ACCEPT, 400, {"error": "Invalid message format."}),
        (b'{"id": 1, "method": "ping"}', ACCEPT, 400, {"error": NO_VERSION}),
        (b'{"jsonrpc": "2.0", "method": "notifications/initialized"}', ACCEPT, 202, None),
        (b'{"jsonrpc": "2.0", "id": "x", "method": "resources/list"}', ACCEPT, 200,
         {"jsonrpc": "2.0", "id": "x", "error": {"code": -32601, "message": "Method not found: resources/list"}}),
        (b'{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}}', ACCEPT, 200,
         {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "Unknown tool: None"}}),
    ],
)  # fmt: skip
def test_bad_messages_get_the_official_answers(stack, body, accept, status, answer):
    headers = {**accept, "Content-Type": "application/json"}
    response = httpx.post(f"{stack.url}/mcp", content=body, headers=headers)
    assert response.status_code == status, response.text
    if answer is not None:
        assert response.json() == answer
    if status == 400 and answer is None:
        assert response.json() == {"error": "Accept header must include application/json or text/event-stream"}


def test_the_openapi_document_lists_mcp_as_the_official_does(stack):
    paths = httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    assert set(paths["/mcp/"]) == {"post", "get", "delete"}
    assert paths["/mcp/"]["post"]["tags"] == ["MCP"]
