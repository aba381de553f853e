"""Reads of threads and of their graph state (from LangGraph's Postgres checkpointer).

Every read goes through here so that ownership (auth, later) is one filter in one place.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from django.db import DatabaseError
from django.db.models import QuerySet
from langgraph.errors import EmptyInputError, InvalidUpdateError
from langgraph.pregel import Pregel

from agentplatform.errors import ApplicationError, BadRequest, InvalidInput, NotFound
from agentplatform.graph_factories import AccessContext
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid
from agentplatform.persistence import sync_checkpointer
from store.backend import store_for_sync
from threads.models import Thread
from threads.state import empty_thread_state, snapshot_to_dict

THREAD_SORT_FIELDS = ("thread_id", "status", "created_at", "updated_at", "state_updated_at")
SORT_ORDERS = ("asc", "desc")


def thread_get(*, thread_id: str | uuid.UUID) -> Thread:
    """The thread with this id; 422 for a malformed id, 404 `Thread with ID … not found` if absent."""
    pk = parse_uuid(thread_id, "thread")
    thread = Thread.objects.filter(thread_id=pk).first()
    if thread is None:
        raise NotFound(f"Thread with ID {pk} not found")
    return thread


def _filtered(*, ids: list[uuid.UUID] | None, metadata: dict | None, values: dict | None, status: str | None):
    queryset = Thread.objects.all()
    if ids:
        queryset = queryset.filter(thread_id__in=ids)
    # jsonb @> : every given key present with an equal value, nested objects compared recursively.
    # A thread whose values are NULL simply does not match (the official in-memory server answers 500).
    if metadata:
        queryset = queryset.filter(metadata__contains=metadata)
    if values:
        queryset = queryset.filter(values__contains=values)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def thread_search(
    *,
    ids: list[uuid.UUID] | None = None,
    metadata: dict | None = None,
    values: dict | None = None,
    status: str | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> tuple[list[Thread], bool]:
    """One page of matching threads and whether more exist after it (default order: updated_at, newest first)."""
    field = sort_by if sort_by in THREAD_SORT_FIELDS else "updated_at"
    descending = (sort_order or "desc").lower() != "asc"
    order = [f"-{field}", "-thread_id"] if descending else [field, "thread_id"]
    queryset: QuerySet[Thread] = _filtered(ids=ids, metadata=metadata, values=values, status=status).order_by(*order)
    rows = list(queryset[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def thread_count(*, metadata: dict | None = None, values: dict | None = None, status: str | None = None) -> int:
    return _filtered(ids=None, metadata=metadata, values=values, status=status).count()


def thread_graph_config(thread: Thread, configurable: dict | None = None) -> dict[str, Any]:
    """The RunnableConfig for reading or writing a thread's state (thread config + request configurable)."""
    base = thread.config or {}
    merged = {**base.get("configurable", {}), **(configurable or {}), "thread_id": str(thread.thread_id)}
    graph_id = (thread.metadata or {}).get("graph_id")
    if isinstance(graph_id, str):
        # As officially: state updates then record graph_id in the checkpoint's metadata.
        merged.setdefault("graph_id", graph_id)
    return {**base, "configurable": merged}


@contextlib.contextmanager
def thread_graph(
    thread: Thread, config: dict, access_context: AccessContext = AccessContext.READ
) -> Iterator[Pregel | None]:
    """The thread's graph bound to the API's checkpointer, or None when the thread has no usable graph_id.
    `access_context` tells a factory why (reads, or UPDATE for state updates), as officially."""
    graph_id = (thread.metadata or {}).get("graph_id")
    registry = get_registry()
    if not isinstance(graph_id, str) or not registry.has(graph_id):
        yield None
        return
    graph_in = registry.graph(
        graph_id, config, checkpointer=sync_checkpointer(), store=store_for_sync(), access_context=access_context
    )
    with graph_in as graph:
        yield graph


def thread_state_get(*, thread: Thread, checkpoint: dict | None = None, subgraphs: bool = False) -> dict[str, Any]:
    """The ThreadState JSON of the latest checkpoint, or of `checkpoint` ({checkpoint_id, checkpoint_ns, ...})."""
    config = thread_graph_config(thread, _checkpoint_configurable(checkpoint))
    with thread_graph(thread, config) as graph:
        if graph is None:
            return empty_thread_state()
        with graph_errors():
            snapshot = graph.get_state(config, subgraphs=subgraphs)
    return snapshot_to_dict(snapshot)


def thread_history_list(
    *,
    thread: Thread,
    limit: int = 1,
    before: Any = None,
    metadata: dict | None = None,
    checkpoint: dict | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints newest first, as ThreadState JSON; `before` is a checkpoint id, RunnableConfig or Checkpoint."""
    config = thread_graph_config(thread, {"checkpoint_ns": "", **_checkpoint_configurable(checkpoint)})
    before_config = _before_config(before)
    with thread_graph(thread, config) as graph:
        if graph is None:
            return []
        with graph_errors():
            snapshots = graph.get_state_history(config, filter=metadata or None, before=before_config, limit=limit)
            return [snapshot_to_dict(s) for s in snapshots]


def _checkpoint_configurable(checkpoint: dict | None) -> dict:
    if not checkpoint:
        return {}
    if not isinstance(checkpoint, dict):
        raise InvalidInput("checkpoint must be an object with checkpoint_id, checkpoint_ns or checkpoint_map")
    # The thread comes from the path, never from the body.
    return {k: v for k, v in checkpoint.items() if k != "thread_id" and v is not None}


def _before_config(before: Any) -> dict | None:
    """The official server wants a RunnableConfig; the SDK's annotation suggests a Checkpoint or an id: take all."""
    if before is None or before == {}:
        return None
    if isinstance(before, str):
        return {"configurable": {"checkpoint_id": before}}
    if isinstance(before, dict):
        configurable = before.get("configurable") if isinstance(before.get("configurable"), dict) else before
        if isinstance(configurable.get("checkpoint_id"), str):
            keep = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")
            return {"configurable": {k: configurable[k] for k in keep if k in configurable}}
    raise InvalidInput(
        'before must be a checkpoint id, {"checkpoint_id": ...} or {"configurable": {"checkpoint_id": ...}}'
    )


@contextlib.contextmanager
def graph_errors() -> Iterator[None]:
    """What a graph raises while reading or writing state for a request (unknown node, an update its channels
    refuse, a bad checkpoint or namespace) is the request's fault: a 400. Database failures stay server errors."""
    try:
        yield
    except (ApplicationError, psycopg.Error, DatabaseError):
        raise
    except (InvalidUpdateError, EmptyInputError, ValueError) as exc:
        raise BadRequest(str(exc)) from exc
    except Exception as exc:  # graph code may raise anything for input it cannot take
        raise BadRequest(f"{type(exc).__name__}: {exc}") from exc
