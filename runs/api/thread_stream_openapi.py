"""The thread-centric streaming routes in /openapi.json (runs.api.thread_stream_views), with the component names
the official schema uses (ProtocolCommand, ProtocolEventStreamRequest, ProtocolSuccess, ProtocolError, ...)."""

from __future__ import annotations

from agentplatform.openapi import ERROR_REF, Operations, json_response, path_param

# The channels the official schema lists; `checkpoints` is accepted too (as officially), though not listed.
_CHANNELS = ["values", "updates", "messages", "tools", "lifecycle", "input", "tasks", "custom"]
_ERROR_CODES = [
    "invalid_argument",
    "unknown_command",
    "unknown_error",
    "no_such_run",
    "no_such_subscription",
    "no_such_namespace",
    "no_such_interrupt",
    "no_such_checkpoint",
    "permission_denied",
    "not_supported",
]
_META = {"$ref": "#/components/schemas/ProtocolResponseMeta"}
_ERROR = {"$ref": "#/components/schemas/ProtocolError"}


def _components() -> dict[str, dict]:
    command_id = {"type": "integer", "minimum": 0}
    return {
        "ProtocolChannel": {
            "type": "string",
            "description": "A channel to subscribe to, or `custom:<name>` for one custom stream.",
            "anyOf": [
                {"type": "string", "enum": _CHANNELS},
                {"type": "string", "pattern": "^custom:.+$", "description": "One named custom stream."},
            ],
        },
        "ProtocolNamespace": {
            "type": "array",
            "items": {"type": "string"},
            "description": "A path in the graph tree: [] is the root graph, each segment a subgraph (`name:<task>`).",
        },
        "ProtocolCommand": {
            "type": "object",
            "description": "A command: `run.start`, `input.respond`; on the websocket also `subscription.subscribe` "
            "and `subscription.unsubscribe`.",
            "required": ["id", "method"],
            "properties": {
                "id": {**command_id, "description": "Chosen by the client; the answer carries it back."},
                "method": {"type": "string", "description": "The command, e.g. `run.start`."},
                "params": {"type": "object", "additionalProperties": True, "description": "The command's arguments."},
            },
            "additionalProperties": True,
        },
        "ProtocolEventStreamRequest": {
            "type": "object",
            "description": "What one SSE connection receives, for as long as it stays open.",
            "required": ["channels"],
            "properties": {
                "channels": {"type": "array", "items": {"$ref": "#/components/schemas/ProtocolChannel"}, "minItems": 1},
                "namespaces": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ProtocolNamespace"},
                    "description": "Only events whose namespace starts with one of these (all when omitted).",
                },
                "depth": {"type": "integer", "minimum": 0, "description": "How deep below those prefixes."},
                "since": {"type": "integer", "minimum": 0, "description": "Resume after the event of this `seq`."},
            },
            "additionalProperties": True,
        },
        "ProtocolResponseMeta": {
            "type": "object",
            "properties": {"applied_through_seq": {"type": "integer", "minimum": 0}},
            "additionalProperties": True,
        },
        "ProtocolSuccess": {
            "type": "object",
            "required": ["type", "id", "result"],
            "properties": {
                "type": {"type": "string", "enum": ["success"]},
                "id": command_id,
                "result": {"type": "object", "additionalProperties": True, "description": "e.g. `{run_id}`."},
                "meta": _META,
            },
            "additionalProperties": True,
        },
        "ProtocolError": {
            "type": "object",
            "required": ["type", "id", "error", "message"],
            "properties": {
                "type": {"type": "string", "enum": ["error"]},
                "id": {**command_id, "nullable": True, "description": "null when the frame was no command."},
                "error": {"type": "string", "enum": _ERROR_CODES},
                "message": {"type": "string"},
                "meta": _META,
            },
            "additionalProperties": True,
        },
    }


def _body(name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _command_operation() -> dict:
    return {
        "tags": ["Streaming"],
        "summary": "Protocol v2 Command",
        "description": "One command about the thread; `run.start` and `input.respond` create runs, which the "
        "thread's event stream then shows. The first `run.start` of an unknown thread id creates the thread.",
        "operationId": "protocol_thread_command_post",
        "parameters": [path_param("thread_id")],
        "requestBody": _body("ProtocolCommand"),
        "responses": {
            "200": json_response(
                {"oneOf": [{"$ref": "#/components/schemas/ProtocolSuccess"}, _ERROR]}, "The command's answer"
            ),
            "400": json_response(_ERROR, "Not a command"),
            "404": json_response(ERROR_REF, "The thread is another user's"),
            "422": json_response(ERROR_REF, "The run engine refused the run (e.g. unknown assistant)"),
        },
    }


def _events_operation() -> dict:
    frames = (
        "One frame per event: `event:` its method, `data:` the event JSON "
        "(`{type, event_id, seq, method, params: {namespace, timestamp, data}}`), `id:` its `seq`."
    )
    return {
        "tags": ["Streaming"],
        "summary": "Protocol v2 Event Stream (SSE)",
        "description": "The thread's events for the body's filter: its history first (after `since`, if given), "
        "then live, across all its runs, until the client closes the connection. The same route is a websocket "
        "whose frames are commands.",
        "operationId": "protocol_thread_events_post",
        "parameters": [path_param("thread_id")],
        "requestBody": _body("ProtocolEventStreamRequest"),
        "responses": {
            "200": {
                "description": "The event stream",
                "content": {"text/event-stream": {"schema": {"type": "string", "description": frames}}},
            },
            "400": json_response(ERROR_REF, "Invalid request body"),
            "404": json_response(ERROR_REF, "The thread is another user's"),
        },
    }


def thread_stream_operations() -> tuple[Operations, dict[str, dict]]:
    """The two routes, and the components they refer to."""
    operations = {
        "/threads/{thread_id}/commands": {"post": _command_operation()},
        "/threads/{thread_id}/stream/events": {"post": _events_operation()},
    }
    return operations, _components()
