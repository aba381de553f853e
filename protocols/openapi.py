"""The MCP and A2A part of /openapi.json: `POST|GET|DELETE /mcp/` and `POST /a2a/{assistant_id}` as the official
server documents them, and the agent card routes, which it serves without listing them (this document lists what
is served). `/mcp` and `/a2a/{assistant_id}/` answer as their documented twins. drf-spectacular cannot see these
plain async views; `postprocess_schema` is its hook, listed in SPECTACULAR_SETTINGS."""

from __future__ import annotations

from typing import Any

from agentplatform.openapi import Operations, add_operations, json_response, path_param
from protocols import a2a_tasks

_TEXT_PART = {
    "title": "Text Part",
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}},
    "required": ["kind", "text"],
}
_DATA_PART = {
    "title": "Data Part",
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": ["data"]}, "data": {"type": "object"}},
    "required": ["kind", "data"],
}
_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": ["user", "agent"]},
        "parts": {"type": "array", "items": {"oneOf": [_TEXT_PART, _DATA_PART]}},
        "messageId": {"type": "string", "description": "The client's id for the message."},
        "contextId": {"type": "string", "description": "The conversation: a thread id (a new one when omitted)."},
        "taskId": {"type": "string", "description": "The task this message answers (one waiting for input)."},
    },
    "required": ["role", "parts", "messageId"],
}
_TASK_PARAMS = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The task id: `<contextId>:<run_id>`."},
        "contextId": {"type": "string"},
        "historyLength": {"type": "integer", "minimum": 0, "maximum": a2a_tasks.MAX_HISTORY_LENGTH},
    },
    "required": ["id"],
}
A2A_REQUEST = {
    "type": "object",
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "id": {"type": "string", "description": "The request's id, echoed in the response."},
        "method": {"type": "string", "enum": ["message/send", "message/stream", "tasks/get", "tasks/cancel"]},
        "params": {
            "type": "object",
            "oneOf": [
                {"title": "Message Send/Stream Parameters", "type": "object", "properties": {"message": _MESSAGE}},
                {"title": "Task Get/Cancel Parameters", **_TASK_PARAMS},
            ],
        },
    },
    "required": ["jsonrpc", "id", "method"],
}
_A2A_DESCRIPTION = """The assistant as an A2A agent, over JSON-RPC 2.0: `message/send` (wait for the Task),
`message/stream` (the Task and its updates as SSE `message` events, each a JSON-RPC response), `tasks/get`,
`tasks/cancel` (and their A2A 1.0 names). `message.contextId` is a thread id; a task is
`<thread_id>:<run_id>`. Errors are JSON-RPC errors with HTTP 200. Its agent card:
`GET /a2a/{assistant_id}/.well-known/agent-card.json`."""
_ACCEPT = {
    "name": "Accept",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "`text/event-stream` for message/stream, `application/json` otherwise.",
}
_MCP_ACCEPT = {**_ACCEPT, "description": "Must include `application/json` or `text/event-stream`."}
_OBJECT = {"type": "object"}


def _mcp(method: str, summary: str, responses: dict, **extra: Any) -> dict:
    return {"tags": ["MCP"], "summary": summary, "operationId": f"{method}_mcp", "responses": responses, **extra}


def _card(operation_id: str, summary: str, params: list) -> dict:
    card = {
        "description": "The agent card: the assistant as an A2A agent (name, skills, media types, capabilities).",
        "content": {"application/json": {"schema": _OBJECT}},
    }
    refused = {"description": 'Unknown assistant or bad metadata: `{"error": {"code", "message"}}`.'}
    return {
        "tags": ["A2A"],
        "summary": summary,
        "operationId": operation_id,
        "parameters": params,
        "responses": {"200": card, "400": refused},
    }


def _card_operations() -> Operations:
    assistant = [path_param("assistant_id")]
    query = {
        "name": "assistant_id",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "format": "uuid"},
        "description": "The assistant (default: DEFAULT_A2A_ASSISTANT_ID).",
    }
    return {
        "/a2a/{assistant_id}": {"get": _card("get_a2a_agent", "Agent Card", assistant)},
        "/a2a/{assistant_id}/.well-known/agent-card.json": {
            "get": _card("get_a2a_agent_card", "Agent Card (well-known)", assistant)
        },
        "/a2a/{assistant_id}/.well-known/agent.json": {
            "get": _card("get_a2a_agent_json", "Agent Card (well-known, former name)", assistant)
        },
        "/.well-known/agent-card.json": {"get": _card("get_agent_card", "Agent Card (domain root)", [query])},
    }


def _operations() -> Operations:
    mcp_post = _mcp(
        "post",
        "MCP Post",
        {
            "200": json_response(_OBJECT, "A JSON-RPC response."),
            "202": {"description": "A notification or response, accepted."},
            "400": {"description": "Not JSON, not JSON-RPC, or an Accept header without application/json."},
        },
        description="Streamable HTTP transport, stateless (no session id). Methods: initialize, ping, tools/list "
        "(the assistants as tools), tools/call (runs the assistant on a new stateless thread).",
        parameters=[_MCP_ACCEPT],
        requestBody={"required": True, "content": {"application/json": {"schema": _OBJECT}}},
    )
    a2a_post = {
        "tags": ["A2A"],
        "summary": "A2A JSON-RPC",
        "operationId": "post_a2a",
        "description": _A2A_DESCRIPTION,
        "parameters": [path_param("assistant_id"), _ACCEPT],
        "requestBody": {"required": True, "content": {"application/json": {"schema": A2A_REQUEST}}},
        "responses": {
            "200": {
                "description": "A JSON-RPC response, or for message/stream an SSE stream of them.",
                "content": {
                    "application/json": {"schema": _OBJECT},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            },
            "400": {"description": "An Accept header that does not admit the response."},
        },
    }
    return {
        "/mcp/": {
            "post": mcp_post,
            "get": _mcp("get", "MCP Get", {"405": {"description": "No server-to-client stream: stateless."}}),
            "delete": _mcp("delete", "Terminate Session", {"404": {"description": "No session: stateless."}}),
        },
        "/a2a/{assistant_id}": {"post": a2a_post},
    }


def postprocess_schema(result: dict, generator: Any, request: Any, public: bool, **kwargs: Any) -> dict:
    operations = _operations()
    for path, methods in _card_operations().items():
        operations.setdefault(path, {}).update(methods)
    return add_operations(result, operations)
