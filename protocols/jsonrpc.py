"""JSON-RPC 2.0 envelopes shared by MCP and A2A: the standard error codes, results and errors as the official
server words them, and its Accept-header rule. Plain values only; the views turn them into responses."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Outcome = dict[str, Any]  # {"result": ...} or {"error": {"code", "message"[, "data"]}}


def result(value: Any) -> Outcome:
    return {"result": value}


def error(code: int, message: str, data: Any = None) -> Outcome:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"error": body}


def envelope(request_id: Any, outcome: Outcome) -> dict[str, Any]:
    """The response object for the request `request_id` (None when it could not be read)."""
    return {"jsonrpc": "2.0", "id": request_id, **outcome}


def accepts(accept_header: str, media_type: str) -> bool:
    """Whether an Accept header admits `media_type`, wildcards (`*/*`, `text/*`) included."""
    target = media_type.lower()
    for media_range in accept_header.split(","):
        candidate = media_range.split(";", 1)[0].strip().lower()
        if candidate in ("*/*", target):
            return True
        if candidate.endswith("/*") and target.startswith(candidate[:-1]):
            return True
    return False
