"""A2A (Agent2Agent, JSON-RPC 2.0 binding) at POST /a2a/{assistant_id}, as the official server serves it: the
calls (`message/send`, `message/stream` as SSE, `tasks/get`, `tasks/cancel`, and their A2A 1.0 names
`SendMessage`, ..., which answer with the 1.0 enum names), their official refusals, and the agent card. Each
assistant is an agent; protocols.a2a_tasks maps contexts and tasks onto threads and runs.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import agentplatform
from access.users import AuthUser
from agentplatform import serde
from agentplatform.db_threads import in_worker_thread
from protocols import a2a_format as fmt
from protocols import jsonrpc
from protocols.a2a_tasks import (
    HISTORY_SCOPE_HEADER,
    INVALID_AGENT_RESPONSE,
    CallContext,
    assistant_by_id,
    input_properties,
    message_send,
    params_error,
    stream_outcomes,
    tasks_cancel,
    tasks_get,
)

__all__ = ["HISTORY_SCOPE_HEADER", "CallContext"]
logger = logging.getLogger(__name__)

HISTORY_SCOPE_EXTENSION = "https://langchain.com/a2a/extensions/history-scope/v1"
_METHOD_ALIASES = {
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/cancel": "CancelTask",
}
_METHODS = ("SendMessage", "SendStreamingMessage", "GetTask", "CancelTask", "GetExtendedAgentCard")
_DEFAULT_MODES = ("application/json", "text/plain")


@dataclasses.dataclass(frozen=True)
class Call:
    request_id: Any
    method: str  # the A2A 1.0 name
    params: Any
    spec_format: bool  # asked by its slash name: answer in the 0.x words

    @property
    def streaming(self) -> bool:
        return self.method == "SendStreamingMessage"


@dataclasses.dataclass(frozen=True)
class Refusal:
    request_id: Any
    outcome: jsonrpc.Outcome | None  # None: a JSON-RPC response sent to us, acknowledged with 202
    early: bool = True  # refused before the Accept header is looked at, as officially


def _invalid_request(request_id: Any, message: str) -> Refusal:
    return Refusal(request_id, jsonrpc.error(jsonrpc.INVALID_REQUEST, message))


def _early_refusal(message: dict) -> Refusal | None:
    request_id, method = message.get("id"), message.get("method")
    if message.get("jsonrpc") != "2.0":
        return _invalid_request(request_id, "Invalid JSON-RPC message: missing or invalid jsonrpc version")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int | float)):
        return _invalid_request(None, "Invalid JSON-RPC request: 'id' must be a string, number, or null")
    if method is not None and not isinstance(method, str):
        return Refusal(request_id, jsonrpc.error(jsonrpc.METHOD_NOT_FOUND, "Method not found: method must be a string"))
    method = _METHOD_ALIASES.get(method, method)
    if method is not None and method not in _METHODS:
        return Refusal(request_id, jsonrpc.error(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {method}"))
    params = message.get("params", {})
    if method in ("SendMessage", "SendStreamingMessage"):
        if not isinstance(params, dict):
            return Refusal(request_id, jsonrpc.error(jsonrpc.INVALID_PARAMS, "Invalid params: must be an object"))
        if not params.get("message") or not isinstance(params["message"], dict):
            return Refusal(request_id, jsonrpc.error(jsonrpc.INVALID_PARAMS, "Missing or invalid 'message' in params"))
    return None


def parse_call(message: Any) -> Call | Refusal:
    """The request in a JSON-RPC body, or the official refusal of a malformed one."""
    if not isinstance(message, dict):
        return _invalid_request(None, "Invalid message format: expected object")
    if (refusal := _early_refusal(message)) is not None:
        return refusal
    request_id, method = message.get("id"), message.get("method")
    if request_id is not None and method:
        params = message.get("params", {})
        return Call(request_id, _METHOD_ALIASES.get(method, method), params, method in _METHOD_ALIASES)
    if request_id is not None and ("result" in message or "error" in message):
        return Refusal(request_id, None, early=False)
    if request_id is not None:
        return dataclasses.replace(
            _invalid_request(request_id, "Invalid JSON-RPC request: missing 'method' field"), early=False
        )
    refusal = _invalid_request(None, "Invalid message format: must be a JSON-RPC request or notification")
    return dataclasses.replace(refusal, early=False)


def sse_payload(payload: dict) -> bytes:
    """One event's data: JSON on one line, with the Unicode line separators escaped so no client splits it."""
    raw = serde.dumps(payload)
    return (
        raw.replace(b"\xc2\x85", b"\\u0085").replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    )


def default_assistant_id() -> str | None:
    """The assistant of the domain-root agent card when the query names none (the official variable)."""
    return os.environ.get("DEFAULT_A2A_ASSISTANT_ID") or None


def _valid_assistant_id(assistant_id: str) -> str | None:
    try:
        return str(uuid.UUID(assistant_id))
    except ValueError:
        return None


async def stream(call: Call, ctx: CallContext) -> AsyncIterator[dict]:
    """message/stream: the JSON-RPC responses to send as SSE `message` events, the Task first."""
    try:
        async for outcome in stream_outcomes(call.params, ctx):
            body = jsonrpc.envelope(call.request_id, outcome)
            yield fmt.to_spec(body) if call.spec_format else body
    except fmt.InvalidAgentResponse as exc:
        yield jsonrpc.envelope(call.request_id, jsonrpc.error(INVALID_AGENT_RESPONSE, str(exc)))
    except Exception:
        logger.exception("A2A message/stream failed for assistant %s", ctx.assistant_id)
        yield jsonrpc.envelope(call.request_id, jsonrpc.error(jsonrpc.INTERNAL_ERROR, "Internal server error"))


# --- the agent card ---------------------------------------------------------------------------------------------------


def _modes(overrides: Any, field: str) -> list[str]:
    if overrides is None:
        return list(_DEFAULT_MODES)
    if not isinstance(overrides, list) or not overrides or not all(isinstance(m, str) and m.strip() for m in overrides):
        raise ValueError(f"Assistant metadata.a2a.{field} must be a non-empty array of strings.")
    return [mode.strip() for mode in overrides]


def _card_modes(assistant: Any) -> tuple[list[str], list[str]]:
    """The agent's media types: the defaults, or the assistant's `metadata.a2a.input_modes/output_modes`."""
    metadata = assistant.metadata or {}
    if not isinstance(metadata, dict):
        raise ValueError("Assistant metadata must be an object.")
    a2a = metadata.get("a2a")
    if a2a is None:
        return list(_DEFAULT_MODES), list(_DEFAULT_MODES)
    if not isinstance(a2a, dict):
        raise ValueError("Assistant metadata.a2a must be an object.")
    return _modes(a2a.get("input_modes"), "input_modes"), _modes(a2a.get("output_modes"), "output_modes")


_HISTORY_SCOPE_CARD_EXTENSION = {
    "uri": HISTORY_SCOPE_EXTENSION,
    "description": "Choose task-only or full-context response history",
    "required": False,
    "params": {
        "header": HISTORY_SCOPE_HEADER,
        "values": ["context", "task"],
        "default": "context",
        "methods": ["SendMessage", "GetTask", "ListTasks"],
    },
}


@in_worker_thread
def _card(assistant_id: str, base_url: str, user: AuthUser | None, headers: Mapping[str, str]) -> dict:
    assistant = assistant_by_id(assistant_id, user)
    properties, required = input_properties(assistant, user, headers)
    input_modes, output_modes = _card_modes(assistant)
    description = assistant.description or f"{assistant.name} assistant"
    skill = {
        "id": f"{assistant_id}-main",
        "name": f"{assistant.name} Capabilities",
        "description": description,
        "tags": ["assistant", "langgraph"],
        "examples": [],
        "inputModes": input_modes,
        "outputModes": output_modes,
        "metadata": {
            "inputSchema": {
                "required": required,
                "properties": sorted(properties),
                "supportsA2A": "messages" in properties,
            }
        },
    }
    url = f"{base_url}/a2a/{assistant_id}"
    capabilities = {"streaming": True, "pushNotifications": False, "stateTransitionHistory": False}
    return {
        "name": assistant.name,
        "description": description,
        "url": url,
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {**capabilities, "extensions": [dict(_HISTORY_SCOPE_CARD_EXTENSION)]},
        "defaultInputModes": input_modes,
        "defaultOutputModes": output_modes,
        "skills": [skill],
        "version": agentplatform.__version__,
    }


async def agent_card(*, assistant_id: str, base_url: str, user: AuthUser | None, headers: Mapping[str, str]) -> dict:
    """The assistant's agent card, or `{"error": ...}` (answered with 400) when it cannot be made."""
    try:
        return await _card(assistant_id, base_url, user, headers)
    except ValueError as exc:
        return params_error(str(exc))


# --- dispatch -------------------------------------------------------------------------------------------------------


def refuse_assistant_id(call: Call, assistant_id: str) -> dict | None:
    """The error envelope for an assistant id that is not a UUID (before any method, streaming included)."""
    if _valid_assistant_id(assistant_id) is None:
        return jsonrpc.envelope(call.request_id, params_error("Invalid assistant ID: must be a UUID"))
    return None


async def _extended_card(params: Any, ctx: CallContext) -> jsonrpc.Outcome:
    card = await agent_card(assistant_id=ctx.assistant_id, base_url=ctx.base_url, user=ctx.user, headers=ctx.headers)
    return card if "error" in card else jsonrpc.result(card)


_HANDLERS = {
    "SendMessage": message_send,
    "GetTask": tasks_get,
    "CancelTask": tasks_cancel,
    "GetExtendedAgentCard": _extended_card,
}


async def dispatch(call: Call, ctx: CallContext) -> dict:
    """The response envelope of a (non-streaming) call."""
    params = call.params if isinstance(call.params, dict) else {}
    try:
        outcome = await _HANDLERS[call.method](params, ctx)
    except fmt.InvalidAgentResponse as exc:
        outcome = jsonrpc.error(INVALID_AGENT_RESPONSE, str(exc))
    except Exception:
        logger.exception("A2A %s failed for assistant %s", call.method, ctx.assistant_id)
        outcome = jsonrpc.error(jsonrpc.INTERNAL_ERROR, "Internal server error")
    body = jsonrpc.envelope(call.request_id, outcome)
    return fmt.to_spec(body) if call.spec_format else body
