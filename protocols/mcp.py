"""MCP (Model Context Protocol, streamable HTTP transport) as the official server serves it at /mcp: stateless
(no session is issued or kept), JSON responses only, each assistant the caller may see is a tool whose input
schema is the graph's, and `tools/call` runs the assistant on a new stateless thread through the run engine,
exactly as POST /runs/wait does, answering with the run's output.

The methods are `initialize`, `ping`, `tools/list` and `tools/call`; any other is "Method not found".
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

import agentplatform
from access.users import AuthUser
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import ApplicationError
from assistants.graph_info import assistant_schemas
from assistants.selectors import assistant_search
from protocols import jsonrpc
from protocols.runs import run_and_wait

logger = logging.getLogger(__name__)

PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_PROTOCOL_VERSION = "2025-11-25"
PAGE_SIZE = 100
MAX_ASSISTANTS = 1000  # tools/call finds its assistant by name among this many, as officially
_NAME_MAX_LENGTH = 128
_NAME_INVALID = re.compile(r"[^a-zA-Z0-9_\-.]")
_MESSAGE_TYPES = {
    f"{kind}{suffix}"
    for kind in ("AI", "Human", "Chat", "System", "Function", "Tool")
    for suffix in ("Message", "MessageChunk")
}
_MESSAGE_SUPPORT_TYPES = {
    "ToolCall",
    "ToolCallChunk",
    "InvalidToolCall",
    "UsageMetadata",
    "InputTokenDetails",
    "OutputTokenDetails",
}
_TOOL_ANNOTATIONS = {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False, "openWorldHint": True}


def tool_name(assistant_name: str) -> str:
    """An assistant's name as an MCP tool name (`^[a-zA-Z0-9_.-]{1,128}$`): blanks become `_`, the rest is dropped."""
    name = re.sub(r"\s+", "_", assistant_name.strip())
    return _NAME_INVALID.sub("", name)[:_NAME_MAX_LENGTH]


def _is_message_list(prop: dict) -> bool:
    items = prop.get("items") or {}
    refs = [candidate.get("$ref", "") for candidate in items.get("oneOf") or items.get("anyOf") or []]
    return prop.get("type") == "array" and any(ref.removeprefix("#/$defs/") in _MESSAGE_TYPES for ref in refs)


def simplify_input_schema(schema: dict) -> dict:
    """The schema a model can fill in: a list of LangChain messages becomes one string (the user's message),
    and the message types' definitions go. A schema without messages is returned as it is."""
    defs = schema.get("$defs")
    if not defs or not set(defs) & _MESSAGE_TYPES:
        return schema
    schema = copy.deepcopy(schema)
    for name in _MESSAGE_TYPES | _MESSAGE_SUPPORT_TYPES:
        schema["$defs"].pop(name, None)
    if not schema["$defs"]:
        del schema["$defs"]
    properties = schema.get("properties", {})
    for key, prop in properties.items():
        if _is_message_list(prop):
            title = prop.get("title", key)
            properties[key] = {
                "type": "string",
                "title": title,
                "description": "The user message to send to the agent.",
            }
    return schema


def initialize(params: dict) -> jsonrpc.Outcome:
    """Echo a supported protocol version, else offer the latest (the client may then disconnect)."""
    requested = params.get("protocolVersion", LATEST_PROTOCOL_VERSION)
    version = requested if requested in PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
    return jsonrpc.result(
        {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "LangGraph", "version": agentplatform.__version__},
        }
    )


def _tool(assistant: Any, name: str, *, user: AuthUser | None, headers: Mapping[str, str]) -> dict | None:
    """The assistant as a tool, or None (left out of the list, as officially) when its input schema fails."""
    try:
        input_schema = assistant_schemas(assistant=assistant, headers=headers, user=user).get("input_schema")
    except ApplicationError as exc:
        input_schema, reason = None, exc.detail
    else:
        reason = "Input schema generation failed"
    if input_schema is None:
        logger.warning("MCP tools/list skips assistant %s (%s): %s", assistant.assistant_id, assistant.name, reason)
        return None
    input_schema = simplify_input_schema(input_schema) if input_schema else {}
    return {
        "name": name,
        "title": assistant.name,
        "description": assistant.description or f"Tool based on the {assistant.name} assistant",
        "inputSchema": {**input_schema, "type": input_schema.get("type", "object")},
        "annotations": dict(_TOOL_ANNOTATIONS),
    }


def tools_list(*, params: dict, user: AuthUser | None, headers: Mapping[str, str]) -> jsonrpc.Outcome:
    """One page of tools; `nextCursor` (an offset) while pages are full. Duplicate names keep the first."""
    try:
        cursor = int(params.get("cursor", 0))
    except (TypeError, ValueError):
        cursor = 0
    assistants, _ = assistant_search(limit=PAGE_SIZE, offset=max(cursor, 0), user=user)
    seen: set[str] = set()
    tools = []
    for assistant in assistants:
        name = tool_name(assistant.name)
        if name in seen:
            logger.warning("MCP tools/list skips assistant %s: duplicate tool name %r", assistant.assistant_id, name)
            continue
        seen.add(name)
        if (tool := _tool(assistant, name, user=user, headers=headers)) is not None:
            tools.append(tool)
    page: dict[str, Any] = {"tools": tools}
    if len(assistants) == PAGE_SIZE:
        page["nextCursor"] = cursor + PAGE_SIZE
    return jsonrpc.result(page)


def _tool_assistant_id(name: Any, user: AuthUser | None) -> str | jsonrpc.Outcome:
    """The id of the one assistant whose tool is `name`, or the official error."""
    assistants, _ = assistant_search(limit=MAX_ASSISTANTS, user=user) if name else ([], False)
    matching = [a for a in assistants if tool_name(a.name) == name]
    if not matching:
        return jsonrpc.error(jsonrpc.INVALID_PARAMS, f"Unknown tool: {name}")
    if len(matching) > 1:
        return jsonrpc.error(jsonrpc.INVALID_PARAMS, "Multiple tools found with the same name.")
    return str(matching[0].assistant_id)


async def tools_call(*, params: dict, user: AuthUser | None, headers: Mapping[str, str]) -> jsonrpc.Outcome:
    """Run the tool's assistant statelessly and answer its output: `repr` of the values as text (officially so),
    or `isError` with the error's name when the run failed."""
    assistant_id = await in_worker_thread(_tool_assistant_id)(params.get("name"), user)
    if not isinstance(assistant_id, str):
        return assistant_id
    payload: dict[str, Any] = {"assistant_id": assistant_id, "input": params.get("arguments", {})}
    if params.get("context") is not None:
        payload["context"] = params["context"]
    try:
        _, value = await run_and_wait(thread_id=None, payload=payload, user=user, headers=headers)
    except ApplicationError as exc:  # officially an unhandled 4xx from its own client; here the reason
        return jsonrpc.error(jsonrpc.INVALID_PARAMS, exc.detail)
    if isinstance(value, dict) and "__error__" in value:
        return jsonrpc.result({"isError": True, "content": [{"type": "text", "text": value["__error__"]["error"]}]})
    return jsonrpc.result({"content": [{"type": "text", "text": repr(value)}]})


async def handle(message: dict, *, user: AuthUser | None, headers: Mapping[str, str]) -> jsonrpc.Outcome:
    """The outcome of one JSON-RPC request (a message with an id and a method); never an exception."""
    try:
        return await _outcome(message, user=user, headers=headers)
    except Exception:
        logger.exception("MCP %s failed", message.get("method"))
        return jsonrpc.error(jsonrpc.INTERNAL_ERROR, "Internal server error")


async def _outcome(message: dict, *, user: AuthUser | None, headers: Mapping[str, str]) -> jsonrpc.Outcome:
    method, params = message["method"], message.get("params") or {}
    if not isinstance(params, dict):
        params = {}
    if method == "initialize":
        return initialize(params)
    if method == "ping":
        return jsonrpc.result({})
    if method == "tools/list":
        return await in_worker_thread(tools_list)(params=params, user=user, headers=headers)
    if method == "tools/call":
        return await tools_call(params=params, user=user, headers=headers)
    return jsonrpc.error(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {method}")
