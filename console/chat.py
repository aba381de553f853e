"""A thread's `messages` (LangChain messages as JSON, whoever wrote them) as the turns of a chat."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ROLES = {"human": "human", "user": "human", "ai": "ai", "assistant": "ai", "tool": "tool", "system": "system"}


@dataclass(frozen=True)
class Turn:
    role: str  # human, ai, tool, system or other
    text: str
    name: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str = ""


def _text(content: Any) -> str:
    """Message content is a string or a list of blocks; text blocks are shown as text, other blocks as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            block.get("text", "") if isinstance(block, dict) and block.get("type") == "text" else _text(block)
            for block in content
        ]
        return "\n".join(part for part in parts if part)
    return "" if content is None else json.dumps(content, ensure_ascii=False, default=str)


def _tool_call(call: Any) -> dict[str, Any]:
    if not isinstance(call, dict):
        return {"name": "?", "args": json.dumps(call, default=str), "id": ""}
    args = json.dumps(call.get("args"), indent=2, ensure_ascii=False, default=str)
    return {"name": call.get("name") or "?", "args": args, "id": call.get("id") or ""}


def chat_turns(values: Any) -> list[Turn]:
    """The turns of `values["messages"]`, or none when the state has no message list."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return []
    turns = []
    for message in messages:
        if not isinstance(message, dict):
            turns.append(Turn(role="other", text=_text(message)))
            continue
        kind = message.get("type") or message.get("role") or "other"
        turns.append(
            Turn(
                role=ROLES.get(kind, "other"),
                text=_text(message.get("content")),
                name=message.get("name") or "",
                tool_calls=[_tool_call(call) for call in message.get("tool_calls") or []],
                tool_call_id=message.get("tool_call_id") or "",
            )
        )
    return turns
