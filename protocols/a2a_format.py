"""A2A shapes, as the official server builds them: task states, A2A message parts <-> LangChain messages, the
task history with each message's task, artifacts and stream updates. Pure functions, no I/O.

Internally states and roles use the A2A 1.0 enum names (`TASK_STATE_COMPLETED`, `ROLE_AGENT`); `to_spec` turns
them into the 0.x words (`completed`, `agent`) that the slash methods (`message/send`, ...) answer with.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

A2UI_MIME_PREFIX = "application/json+a2ui"
TERMINAL_STATES = frozenset({"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"})
_RUN_STATUS_STATES = {
    "pending": "TASK_STATE_SUBMITTED",
    "running": "TASK_STATE_WORKING",
    "success": "TASK_STATE_COMPLETED",
    "interrupted": "TASK_STATE_CANCELED",  # a run cancelled from outside; a graph's interrupt ends in success
    "error": "TASK_STATE_FAILED",
    "timeout": "TASK_STATE_FAILED",
}
_ROLE_TO_SPEC = {"ROLE_USER": "user", "ROLE_AGENT": "agent"}
_ROLE_FROM_SPEC = {spec: role for role, spec in _ROLE_TO_SPEC.items()}
_STATE_TO_SPEC = {
    "TASK_STATE_SUBMITTED": "submitted",
    "TASK_STATE_WORKING": "working",
    "TASK_STATE_COMPLETED": "completed",
    "TASK_STATE_FAILED": "failed",
    "TASK_STATE_CANCELED": "canceled",
    "TASK_STATE_INPUT_REQUIRED": "input-required",
    "TASK_STATE_REJECTED": "rejected",
    "TASK_STATE_AUTH_REQUIRED": "auth-required",
}
_USER_TYPES = {"human", "humanmessage", "humanmessagechunk"}
_AGENT_TYPES = {"ai", "aimessage", "aimessagechunk"}
_ROLE_TYPES = {"chat", "chatmessage", "chatmessagechunk"}
_USER_ROLES, _AGENT_ROLES = {"human", "user"}, {"agent", "assistant"}
_MEDIA_BLOCKS = {"audio", "file", "image", "video"}


def now() -> str:
    return datetime.now(UTC).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


def state_for_run(status: str, *, thread_interrupted: bool = False) -> str:
    """A run's task state; a run that ended well on a thread left waiting at an interrupt needs input."""
    if status == "success" and thread_interrupted:
        return "TASK_STATE_INPUT_REQUIRED"
    return _RUN_STATUS_STATES.get(status, "TASK_STATE_SUBMITTED")


def to_spec(data: Any) -> Any:
    """1.0 enum names -> 0.x words, recursively; `{"result": {"task": t}}` -> `{"result": t}`."""
    if isinstance(data, list):
        return [to_spec(item) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "role" and isinstance(value, str):
            out[key] = _ROLE_TO_SPEC.get(value, value)
        elif key == "state" and isinstance(value, str):
            out[key] = _STATE_TO_SPEC.get(value, value)
        elif key == "result" and isinstance(value, dict) and list(value) == ["task"]:
            out[key] = to_spec(value["task"])
        else:
            out[key] = to_spec(value)
    return out


def input_role(role: str) -> str:
    return _ROLE_FROM_SPEC.get(role, role)


def make_task_id(context_id: str, run_id: str) -> str:
    """A task id names its thread and its first run, so tasks/get needs no contextId."""
    return f"{context_id}:{run_id}"


def parse_task_id(task_id: str) -> tuple[str, str]:
    """(context_id, run_id); a bare run id has an empty context (the caller must name it)."""
    context_id, sep, run_id = task_id.partition(":")
    return (context_id, run_id) if sep else ("", task_id)


# --- A2A parts -> graph input -----------------------------------------------------------------------------------


def _is_a2ui(part: dict) -> bool:
    metadata = part.get("metadata")
    mime = metadata.get("mimeType") if isinstance(metadata, dict) else None
    return isinstance(mime, str) and mime.split(";", 1)[0].strip().lower().startswith(A2UI_MIME_PREFIX)


def has_message_parts(parts: list) -> bool:
    """Whether the parts need the graph to take `messages` (text, files, A2UI data)."""
    return any(isinstance(p, dict) and ("text" in p or "file" in p or ("data" in p and _is_a2ui(p))) for p in parts)


def _file_block(part: dict) -> dict[str, Any]:
    """An A2A FilePart as a LangChain content block; a URI is passed on, never fetched here."""
    file = part.get("file")
    if not isinstance(file, dict):
        raise ValueError("FilePart must contain a 'file' object with 'bytes' or 'uri'.")
    data, uri = file.get("bytes"), file.get("uri")
    if data is None and uri is None:
        raise ValueError("FilePart 'file' must contain either 'bytes' or 'uri'.")
    if data is not None and uri is not None:
        raise ValueError("FilePart 'file' must contain only one of 'bytes' or 'uri'.")
    mime = file.get("mimeType")
    top = mime.split("/", 1)[0].strip().lower() if isinstance(mime, str) else ""
    block: dict[str, Any] = {"type": top if top in ("image", "audio", "video") else "file"}
    block.update({"base64": data} if data is not None else {"url": uri})
    if mime:
        block["mime_type"] = mime
    if file.get("name"):
        block["extras"] = {"filename": file["name"]}
    return block


def _check_part(part: Any) -> None:
    if not isinstance(part, dict):
        raise ValueError(
            "Each message part must be an object. A2A agents support 'text', 'data', and 'file' parts only."
        )
    present = [key for key in ("text", "file", "data") if key in part]
    if len(present) > 1:
        raise ValueError(
            f"Each message part must contain exactly one of 'text', 'file', or 'data'. Got multiple: {present}."
        )
    if not present:
        raise ValueError("Unsupported part type. A2A agents support 'text', 'data', and 'file' parts only.")


def graph_input(parts: list, *, role: str, message_id: str, stamp: dict[str, str]) -> dict[str, Any]:
    """The run input: text parts become messages (one message of content blocks when files come along), data
    parts merge into the input. Each message carries `stamp` (its task) in additional_kwargs.a2a.

    Raises ValueError (content type not supported) or A2UIRefused."""
    for part in parts:
        _check_part(part)
    graph_role = "human" if role == "ROLE_USER" else "assistant"
    with_blocks = any("file" in p for p in parts)
    messages, blocks, data = [], [], {}
    for part in parts:
        if "text" in part:
            if with_blocks:
                blocks.append({"type": "text", "text": part["text"]})
            else:
                messages.append({"role": graph_role, "content": part["text"], "id": message_id})
        elif "file" in part:
            blocks.append(_file_block(part))
        elif _is_a2ui(part):
            raise A2UIRefused("A2UI is not enabled for this agent")
        elif not isinstance(part["data"], dict):
            raise ValueError("DataPart must contain a JSON object in the 'data' field")
        else:
            data.update(part["data"])
    if with_blocks:
        messages.append({"role": graph_role, "content": blocks, "id": message_id})
    for message in messages:
        message["additional_kwargs"] = {"a2a": dict(stamp)}
    if not messages and not data:
        raise ValueError("Message must contain at least one valid text, data, or file part")
    return {**({"messages": messages} if messages else {}), **data}


class A2UIRefused(ValueError):
    """An A2UI part sent to an agent without A2UI (this server has none): invalid params, as officially."""


def resume_value(parts: list) -> tuple[bool, Any, str | None]:
    """(found, value, error) of a `{"resume": ...}` data part; several are an error."""
    values = [p["data"]["resume"] for p in parts if isinstance(p.get("data"), dict) and "resume" in p["data"]]
    if len(values) > 1:
        return False, None, "Only one resume value is allowed in data parts"
    return bool(values), values[0] if values else None, None


def joined_text(parts: list) -> str | None:
    texts = [p["text"] for p in parts if isinstance(p.get("text"), str)]
    return "\n".join(texts) if texts else None


# --- graph messages -> A2A ----------------------------------------------------------------------------------------


def _label(value: Any) -> str:
    return value.lower().replace("_", "").replace("-", "") if isinstance(value, str) else ""


def message_role(message: dict) -> str | None:
    """ROLE_USER or ROLE_AGENT for a public message; None for internals (system prompts, tool results)."""
    kind, role = _label(message.get("type")), _label(message.get("role"))
    by_type = by_role = None
    if kind:
        if kind in _USER_TYPES:
            by_type = "ROLE_USER"
        elif kind in _AGENT_TYPES:
            by_type = "ROLE_AGENT"
        elif kind not in _ROLE_TYPES:
            return None
    if role:
        if role in _USER_ROLES:
            by_role = "ROLE_USER"
        elif role in _AGENT_ROLES:
            by_role = "ROLE_AGENT"
        else:
            return None
    if by_type and by_role and by_type != by_role:
        return None
    return by_type or by_role


def _file_part(block: dict) -> dict[str, Any]:
    source = next((key for key in ("base64", "data", "url") if block.get(key) is not None), None)
    if source is None:
        raise InvalidAgentResponse("Media content blocks must contain 'base64', 'data', or 'url'.")
    value, file = block[source], {}
    if source == "url":
        file["uri"] = value
    else:
        if isinstance(value, bytes | bytearray):
            value = base64.b64encode(value).decode("ascii")
        compact = "".join(str(value).split())
        try:
            decoded = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidAgentResponse(f"Media content block '{source}' must contain valid base64 data.") from exc
        file["bytes"] = base64.b64encode(decoded).decode("ascii")
    if block.get("mime_type"):
        file["mimeType"] = block["mime_type"]
    name = block.get("filename") or (block.get("extras") or {}).get("filename")
    if name:
        file["name"] = name
    return {"kind": "file", "file": file}


class InvalidAgentResponse(ValueError):
    """The graph's output has media A2A cannot carry (-32006)."""


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as A2A parts: text runs joined, media blocks as files, other blocks dropped."""
    if isinstance(content, str):
        return [{"kind": "text", "text": content}]
    if content is None:
        return []
    if not isinstance(content, list):
        return [{"kind": "text", "text": str(content)}]
    parts, texts = [], []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block, dict) and block.get("type") in _MEDIA_BLOCKS:
            if texts:
                parts.append({"kind": "text", "text": "".join(texts)})
                texts = []
            parts.append(_file_part(block))
    if texts:
        parts.append({"kind": "text", "text": "".join(texts)})
    return parts


def _has_content(parts: list[dict]) -> bool:
    return any(p.get("kind") in ("data", "file") or (p.get("kind") == "text" and p.get("text")) for p in parts)


def _tool_result(message: dict) -> dict[str, Any] | None:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        return None
    found: dict[str, Any] = {"toolCallId": call_id}
    if message.get("content") not in (None, ""):
        found["content"] = message["content"]
    for key in ("name", "status"):
        if isinstance(message.get(key), str) and message[key]:
            found[key] = message[key]
    return found


def _tool_results_part(results: list[dict]) -> dict[str, Any]:
    return {"kind": "data", "data": {"tool_results": results}}


def current_turn(messages: list) -> list:
    """The messages after the last user message."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], dict) and message_role(messages[index]) == "ROLE_USER":
            return messages[index + 1 :]
    return messages


def response_parts(result: dict, turn: list | None = None) -> list[dict[str, Any]]:
    """The agent's answer: the last agent message of this turn with content, else the values as text."""
    messages = result.get("messages")
    if "__error__" in result or not isinstance(messages, list) or not messages:
        return [{"kind": "text", "text": str(result)}]
    for message in reversed(current_turn(messages) if turn is None else turn):
        if isinstance(message, dict) and message_role(message) == "ROLE_AGENT" and "content" in message:
            parts = content_parts(message["content"])
            if _has_content(parts):
                return parts
    return [{"kind": "text", "text": ""}]


def _stamp(message: dict) -> dict:
    kwargs = message.get("additional_kwargs")
    stamp = kwargs.get("a2a") if isinstance(kwargs, dict) else None
    return stamp if isinstance(stamp, dict) else {}


def _history_message(message: dict, task_id: str, context_id: str) -> dict | None:
    role = message_role(message)
    if role is None:
        found = _tool_result(message)
        if found is None:
            return None
        role, parts = "ROLE_AGENT", [_tool_results_part([found])]
    else:
        parts = content_parts(message.get("content", ""))
        if role == "ROLE_AGENT" and not _has_content(parts):
            return None
        parts = parts or [{"kind": "text", "text": ""}]
    message_id = message.get("id") or new_id()
    return {
        "kind": "message",
        "role": role,
        "parts": parts,
        "messageId": message_id,
        "taskId": task_id,
        "contextId": context_id,
    }


def history(
    messages: list,
    task_id: str,
    context_id: str,
    *,
    length: int | None = None,
    scope: str = "context",
    task_ids_by_start_id: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The thread's messages as A2A messages, each with the task it belongs to: a user message stamped with a
    task starts that task's segment. Scope `task` keeps only `task_id`'s; `length` keeps the last ones."""
    current: str | None = None if scope == "task" else task_id
    known = set(task_ids_by_start_id.values()) if task_ids_by_start_id is not None else None
    out = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        stamp = _stamp(message)
        if isinstance(stamp.get("task_id"), str) and stamp["task_id"]:
            stamped = stamp["task_id"]
            current = stamped if known is None or stamped == task_id or stamped in known else None
        elif isinstance(stamp.get("task_start_id"), str) and stamp["task_start_id"]:
            if task_ids_by_start_id is not None:
                current = task_ids_by_start_id.get(stamp["task_start_id"])
            elif scope == "task":
                current = None
        if current is not None and (converted := _history_message(message, current, context_id)) is not None:
            out.append(converted)
    if scope == "task":
        out = [message for message in out if message["taskId"] == task_id]
    if length is None:
        return out
    return out[-length:] if length else []


# --- tasks, artifacts, updates -------------------------------------------------------------------------------------


def agent_message(text: str, task_id: str, context_id: str | None = None) -> dict[str, Any]:
    message = {
        "kind": "message",
        "role": "ROLE_AGENT",
        "parts": [{"kind": "text", "text": text}],
        "messageId": new_id(),
        "taskId": task_id,
    }
    if context_id is not None:
        message["contextId"] = context_id
    return message


def interrupt_artifact(interrupts: list) -> dict[str, Any]:
    parts = []
    for found in interrupts:
        data = {"id": found.get("id"), "value": found.get("value")}
        if found.get("response_schema") is not None:
            data["response_schema"] = found["response_schema"]
        parts.append({"kind": "data", "data": data})
    return {
        "artifactId": new_id(),
        "name": "Interrupt",
        "description": "Agent requires input to continue",
        "parts": parts,
    }


def response_artifact(parts: list, assistant_id: str) -> dict[str, Any]:
    return {
        "artifactId": new_id(),
        "name": "Assistant Response",
        "description": f"Response from assistant {assistant_id}",
        "parts": parts,
    }


def finished_task(
    *,
    task_id: str,
    context_id: str,
    result: dict,
    assistant_id: str,
    history_messages: list,
    include_history: bool,
    turn: list | None = None,
) -> dict[str, Any]:
    """The Task message/send answers once the run is over: completed with the answer as an artifact, waiting at
    an interrupt, or failed."""
    task: dict[str, Any] = {"kind": "task", "id": task_id, "contextId": context_id}
    if include_history:
        task["history"] = history_messages
    if "__error__" in result:
        text = f"Error executing assistant: {result['__error__']['error']}"
        task["status"] = {"state": "TASK_STATE_FAILED", "message": agent_message(text, task_id, context_id)}
    elif "__interrupt__" in result:
        task["status"] = {"state": "TASK_STATE_INPUT_REQUIRED", "timestamp": now()}
        task["artifacts"] = [interrupt_artifact(result["__interrupt__"])]
    else:
        task["status"] = {"state": "TASK_STATE_COMPLETED", "timestamp": now()}
        task["artifacts"] = [response_artifact(response_parts(result, turn), assistant_id)]
    return {"task": task}


def status_update(task_id: str, context_id: str, status: dict, *, final: bool) -> dict[str, Any]:
    return {"taskId": task_id, "contextId": context_id, "kind": "status-update", "status": status, "final": final}


def artifact_update(task_id: str, context_id: str, artifact: dict, *, last: bool = True) -> dict[str, Any]:
    update = {"taskId": task_id, "contextId": context_id, "kind": "artifact-update", "artifact": artifact}
    return {**update, "append": False, "lastChunk": True} if last else update


def streamed_message_update(items: list, task_id: str, context_id: str) -> dict[str, Any] | None:
    """A `messages/*` stream event as a working status-update carrying the agent's text so far; None when it
    holds nothing to show (metadata-only chunks)."""
    texts, results = [], []
    for item in items:
        if not isinstance(item, dict):
            continue
        if message_role(item) is None:
            if (found := _tool_result(item)) is not None:
                results.append(found)
            continue
        text = "".join(p["text"] for p in content_parts(item.get("content")) if p["kind"] == "text")
        if text:
            texts.append(text)
    parts = ([{"kind": "text", "text": "".join(texts)}] if texts else []) + (
        [_tool_results_part(results)] if results else []
    )
    if not any(p.get("text") or p.get("data") for p in parts):
        return None
    message = {
        "kind": "message",
        "role": "ROLE_AGENT",
        "parts": parts,
        "messageId": new_id(),
        "taskId": task_id,
        "contextId": context_id,
    }
    return status_update(
        task_id, context_id, {"state": "TASK_STATE_WORKING", "message": message, "timestamp": now()}, final=False
    )
