"""What the worker wraps one attempt of a run in: its ids in the log context, and its span (a child of the
request that created the run) when tracing is on. Domain-free: runs.engine.worker passes the values."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from agentplatform.telemetry import context, tracing

_SPAN_ATTRIBUTES = {"run_id": "langsmith.run_id", "thread_id": "langsmith.thread_id", "assistant_id": "assistant_id"}


async def attempt_observed(coro: Coroutine[Any, Any, Any], *, fields: dict, kwargs: dict | None) -> Any:
    """Await the attempt `coro` (inside its own asyncio task) with `fields` bound and its span open."""
    configurable = ((kwargs or {}).get("config") or {}).get("configurable") or {}
    attributes = {_SPAN_ATTRIBUTES.get(k, f"agentplatform.{k}"): v for k, v in fields.items()}
    with context.bound(**fields), tracing.run_span(configurable, attributes):
        return await coro
