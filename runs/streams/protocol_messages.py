"""The message shape of the thread-centric protocol's `values` and `updates` payloads.

State holds LangChain messages; the protocol sends them lean: `type` (user -> human, assistant -> ai), `content`
(a string, or protocol content blocks), `id`, `name`, a non-empty `response_metadata`, a tool message's
`tool_call_id`/`status`/`artifact`, an AI message's `tool_calls`/`invalid_tool_calls`, as the official server does.
Pure functions over JSON-able values (after agentplatform.serde), no I/O.
"""

from __future__ import annotations

from typing import Any

_MESSAGE_TYPES = frozenset({"human", "user", "ai", "assistant", "system", "tool", "function", "remove"})
_BLOCK_TYPES = frozenset(
    {
        "text",
        "reasoning",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_call_result",
        "image",
        "audio",
        "video",
        "file",
        "non_standard",
    }
)
_TYPE_ALIASES = {"user": "human", "assistant": "ai"}


def state_payload(value: Any) -> Any:
    """A `values`/`updates` payload with its messages in the protocol shape and `__interrupt__` left out."""
    if isinstance(value, list):
        return [message(item) if _is_message(item) else state_payload(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, entry in value.items():
        if key == "__interrupt__":
            continue
        if key == "messages" and isinstance(entry, list):
            out[key] = [message(item) if _is_message(item) else item for item in entry]
        else:
            out[key] = state_payload(entry)
    return out


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and _TYPE_ALIASES.get(value.get("type"), value.get("type")) in _MESSAGE_TYPES


def message(value: dict[str, Any]) -> dict[str, Any]:
    kind = _TYPE_ALIASES.get(value["type"], value["type"])
    out: dict[str, Any] = {"type": kind, "content": _content(value.get("content", ""))}
    for key in ("id", "name"):
        if isinstance(value.get(key), str):
            out[key] = value[key]
    if kind in ("ai", "human") and isinstance(value.get("example"), bool):
        out["example"] = value["example"]
    if isinstance(value.get("response_metadata"), dict) and value["response_metadata"]:
        out["response_metadata"] = value["response_metadata"]
    if kind == "tool":
        out.update(_tool_fields(value))
    if kind == "ai":
        out.update(_ai_tool_calls(value))
    return out


def _content(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    blocks = []
    for entry in content:
        if isinstance(entry, str):
            blocks.append({"type": "text", "text": entry})
        elif (block := _block(entry)) is not None:
            blocks.append(block)
    return blocks or content


def _block(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    if value["type"] in _BLOCK_TYPES:
        return value
    if value["type"] == "image_url":
        image = value.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return {"type": "image", "url": url} if isinstance(url, str) else None
    return {"type": "non_standard", "value": dict(value)}


def _tool_fields(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value.get("tool_call_id"), str):
        out["tool_call_id"] = value["tool_call_id"]
    if value.get("status") in ("success", "error"):
        out["status"] = value["status"]
    if "artifact" in value and value["artifact"] is not None:
        out["artifact"] = value["artifact"]
    return out


def _ai_tool_calls(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    calls = [
        {"type": "tool_call", "name": call["name"], "args": call.get("args") or {}, **_id(call)}
        for call in value.get("tool_calls") or []
        if isinstance(call, dict) and isinstance(call.get("name"), str)
    ]
    invalid = [
        {"type": "invalid_tool_call", "error": call.get("error") or "Malformed args.", **_id(call)}
        for call in value.get("invalid_tool_calls") or []
        if isinstance(call, dict)
    ]
    if calls:
        out["tool_calls"] = calls
    if invalid:
        out["invalid_tool_calls"] = invalid
    return out


def _id(call: dict[str, Any]) -> dict[str, str]:
    return {"id": call["id"]} if isinstance(call.get("id"), str) else {}
