"""Reads of threads and of their graph state (from LangGraph's Postgres checkpointer).

Every read goes through here so that ownership is one filter in one place: `user` (access.users.AuthUser; None
is the server itself) is asked about with the official `@auth.on.threads` event, and threads outside the filter
its handler returns are absent, answering exactly as unknown ids. Runs are thread resources too: the run engine
finds their threads through `threads_authorized`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet
from langgraph.errors import EmptyInputError, InvalidUpdateError
from langgraph.pregel import Pregel

from access.authorization import authorize_sync, authorized
from access.users import AuthUser, graph_caller
from agentplatform.errors import ApplicationError, BadRequest, InvalidInput, NotFound
from agentplatform.graph_factories import AccessContext
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid
from agentplatform.persistence import sync_checkpointer
from agentplatform.run_headers import request_configurable
from store.backend import store_for_sync
from threads.models import Thread
from threads.state import empty_thread_state, snapshot_to_dict

THREAD_SORT_FIELDS = ("thread_id", "status", "created_at", "updated_at", "state_updated_at")
SORT_ORDERS = ("asc", "desc")


def threads_authorized(*, user: AuthUser | None, action: str, value: dict) -> QuerySet[Thread]:
    """The threads `user` may `action` (read, update, delete, search, create_run), as its auth handler filters
    them; `value` is the official payload of that event."""
    return authorized(Thread.objects.all(), resource="threads", action=action, value=value, user=user)


def thread_get(
    *, thread_id: str | uuid.UUID, user: AuthUser | None = None, action: str = "read", value: dict | None = None
) -> Thread:
    """The thread with this id that `user` may `action` (the handler sees `{"thread_id", **value}`); 422 for a
    malformed id, 404 `Thread with ID … not found` if absent."""
    pk = parse_uuid(thread_id, "thread")
    visible = threads_authorized(user=user, action=action, value={"thread_id": pk, **(value or {})})
    thread = visible.filter(thread_id=pk).first()
    if thread is None:
        raise NotFound(f"Thread with ID {pk} not found")
    return thread


def thread_stream_allowed(*, thread_id: uuid.UUID, user: AuthUser | None) -> bool:
    """Whether `user` may follow a thread's stream. As officially, only a read filter is checked against the
    thread (an unknown thread streams nothing until runs start, unless a filter applies: then it is refused)."""
    filter_ = authorize_sync(resource="threads", action="read", value={"thread_id": thread_id}, user=user)
    return filter_ is None or Thread.objects.filter(filter_.q(), thread_id=thread_id).exists()


def _filtered(
    *,
    ids: list[uuid.UUID] | None,
    metadata: dict | None,
    values: dict | None,
    status: str | None,
    user: AuthUser | None,
    page: tuple[int, int],
) -> QuerySet[Thread]:
    value = {"metadata": metadata or {}, "values": values or {}, "status": status, "limit": page[0], "offset": page[1]}
    queryset = threads_authorized(user=user, action="search", value=value)
    metadata = value["metadata"]  # as officially, what the handler left there is what is searched for
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
    user: AuthUser | None = None,
) -> tuple[list[Thread], bool]:
    """One page of matching threads and whether more exist after it (default order: updated_at, newest first)."""
    field = sort_by if sort_by in THREAD_SORT_FIELDS else "updated_at"
    descending = (sort_order or "desc").lower() != "asc"
    order = [f"-{field}", "-thread_id"] if descending else [field, "thread_id"]
    queryset = _filtered(
        ids=ids, metadata=metadata, values=values, status=status, user=user, page=(limit, offset)
    ).order_by(*order)
    rows = list(queryset[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def thread_count(
    *, metadata: dict | None = None, values: dict | None = None, status: str | None = None, user: AuthUser | None = None
) -> int:
    return _filtered(ids=None, metadata=metadata, values=values, status=status, user=user, page=(0, 0)).count()


def thread_graph_config(
    thread: Thread, configurable: dict | None = None, *, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The RunnableConfig for reading or writing a thread's state: the thread's config, then `configurable`, then
    the request `headers` that http.configurable_headers lets through (agentplatform.run_headers), as officially."""
    base = thread.config or {}
    copied = request_configurable(headers) if headers else {}
    merged = {**base.get("configurable", {}), **(configurable or {}), **copied, "thread_id": str(thread.thread_id)}
    graph_id = (thread.metadata or {}).get("graph_id")
    if isinstance(graph_id, str):
        # As officially: state updates then record graph_id in the checkpoint's metadata.
        merged.setdefault("graph_id", graph_id)
    return {**base, "configurable": merged}


@contextlib.contextmanager
def thread_graph(
    thread: Thread, config: dict, access_context: AccessContext = AccessContext.READ, *, user: AuthUser | None = None
) -> Iterator[Pregel | None]:
    """The thread's graph bound to the API's checkpointer, or None when the thread has no usable graph_id.
    `access_context` tells a factory why (reads, or UPDATE for state updates), as officially; a factory sees the
    request's caller `user` as a run of theirs would show it (config and ServerRuntime), so it builds the same graph."""
    graph_id = (thread.metadata or {}).get("graph_id")
    registry = get_registry()
    if not isinstance(graph_id, str) or not registry.has(graph_id):
        yield None
        return
    auth, runtime_user = graph_caller(user)
    factory_config = {**config, "configurable": {**config.get("configurable", {}), **auth}}
    graph_in = registry.graph(
        graph_id,
        factory_config,
        checkpointer=sync_checkpointer(),
        store=store_for_sync(),
        access_context=access_context,
        user=runtime_user,
    )
    with graph_in as graph:
        yield graph


def thread_state_get(
    *,
    thread: Thread,
    checkpoint: dict | None = None,
    subgraphs: bool = False,
    headers: Mapping[str, str] | None = None,
    user: AuthUser | None = None,
) -> dict[str, Any]:
    """The ThreadState JSON of the latest checkpoint, or of `checkpoint` ({checkpoint_id, checkpoint_ns, ...}).
    `headers` (lower-case names) and `user` are the request's, for a graph factory to see, here and below."""
    config = thread_graph_config(thread, _checkpoint_configurable(checkpoint), headers=headers)
    with thread_graph(thread, config, user=user) as graph:
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
    headers: Mapping[str, str] | None = None,
    user: AuthUser | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints newest first, as ThreadState JSON; `before` is a checkpoint id, RunnableConfig or Checkpoint."""
    if limit > settings.THREAD_HISTORY_MAX_LIMIT:
        cap = settings.THREAD_HISTORY_MAX_LIMIT
        raise InvalidInput(f"limit must be at most {cap} (the THREAD_HISTORY_MAX_LIMIT setting)")
    configurable = {"checkpoint_ns": "", **_checkpoint_configurable(checkpoint)}
    config = thread_graph_config(thread, configurable, headers=headers)
    before_config = _before_config(before)
    with thread_graph(thread, config, user=user) as graph:
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
