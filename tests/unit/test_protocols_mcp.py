"""MCP's pure parts: tool names and the input schema offered to a model, as the official server makes them."""

from __future__ import annotations

import pytest

from protocols import jsonrpc, mcp


@pytest.mark.parametrize(
    ("name", "tool"),
    [("echo", "echo"), ("  my  agent ", "my_agent"), ("a's agent/v2", "as_agentv2"), ("x" * 200, "x" * 128)],
)
def test_tool_names_keep_only_the_characters_mcp_allows(name, tool):
    assert mcp.tool_name(name) == tool


def _message_list(title: str) -> dict:
    items = {"anyOf": [{"$ref": "#/$defs/HumanMessage"}, {"$ref": "#/$defs/AIMessage"}]}
    return {"type": "array", "items": items, "title": title}


def test_a_list_of_messages_becomes_one_string_and_the_message_types_go():
    schema = {
        "type": "object",
        "$defs": {"HumanMessage": {}, "AIMessage": {}, "ToolCall": {}, "Mine": {"type": "object"}},
        "properties": {"messages": _message_list("Messages"), "count": {"type": "integer"}},
    }
    simple = mcp.simplify_input_schema(schema)
    assert simple["$defs"] == {"Mine": {"type": "object"}}
    assert simple["properties"]["messages"] == {
        "type": "string",
        "title": "Messages",
        "description": "The user message to send to the agent.",
    }
    assert simple["properties"]["count"] == {"type": "integer"}
    assert "HumanMessage" in schema["$defs"]  # the graph's own schema is left alone


def test_a_schema_without_messages_is_unchanged():
    schema = {"type": "object", "$defs": {"Mine": {}}, "properties": {"x": {"type": "string"}}}
    assert mcp.simplify_input_schema(schema) is schema


@pytest.mark.parametrize(
    ("asked", "answered"), [("2024-11-05", "2024-11-05"), ("2025-06-18", "2025-06-18"), ("9", "2025-11-25")]
)
def test_initialize_echoes_a_supported_protocol_version_else_offers_the_latest(asked, answered):
    result = mcp.initialize({"protocolVersion": asked})["result"]
    assert result["protocolVersion"] == answered
    assert result["capabilities"] == {"tools": {"listChanged": False}} and result["serverInfo"]["name"] == "LangGraph"


@pytest.mark.parametrize(
    ("accept", "media_type", "ok"),
    [
        ("application/json", "application/json", True),
        ("text/html, */*;q=0.1", "text/event-stream", True),
        ("text/*", "text/event-stream", True),
        ("text/*", "application/json", False),
        ("", "application/json", False),
    ],
)
def test_accept_headers_admit_their_wildcards(accept, media_type, ok):
    assert jsonrpc.accepts(accept, media_type) is ok
