"""The fields every log line carries while a request or a run is handled (request_id, run_id, thread_id,
assistant_id, attempt, graph_id), in a context variable: each asyncio task and each request thread sees its own.

The API edge binds the request id (agentplatform.telemetry.http), the worker binds a run's ids around its
execution (runs.engine.worker); agentplatform.telemetry.logs puts them on every record.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)

REQUEST_ID = "request_id"


def log_context() -> dict[str, Any]:
    """The fields bound in the current context (empty outside a request or a run)."""
    return _fields.get() or {}


def bind(**fields: Any) -> contextvars.Token:
    """Add `fields` (None values are skipped) to the current context; `unbind(token)` restores the previous."""
    current = _fields.get() or {}
    return _fields.set({**current, **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: contextvars.Token) -> None:
    _fields.reset(token)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def current_request_id() -> str | None:
    return log_context().get(REQUEST_ID)


def new_request_id() -> str:
    return str(uuid.uuid4())


def run_fields(*, run_id: Any, thread_id: Any, assistant_id: Any, attempt: int, kwargs: dict | None) -> dict:
    """The log fields of a run: its ids, its attempt, and the graph and request id stored in its kwargs."""
    configurable = ((kwargs or {}).get("config") or {}).get("configurable") or {}
    return {
        "run_id": str(run_id),
        "thread_id": str(thread_id),
        "assistant_id": str(assistant_id),
        "attempt": attempt,
        "graph_id": configurable.get("graph_id"),
        REQUEST_ID: configurable.get("langgraph_request_id"),
    }
