"""Writes on threads: create/update/delete/copy/prune, state updates, and the refresh the run engine reuses.

Each write asks `user`'s `@auth.on.threads` handler first (access.authorization; None is the server itself): it
may refuse, stamp the metadata written, or restrict the threads the write may touch, those outside being answered
exactly as unknown ids.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import redis
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from langgraph.types import StateSnapshot, StateUpdate

from access.authorization import authorize_sync
from access.users import AuthUser
from agentplatform import stream_log
from agentplatform.errors import ApplicationError, BadRequest, Conflict, InvalidInput, NotFound
from agentplatform.graph_factories import AccessContext
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid, uuid7
from agentplatform.persistence import sync_checkpointer
from agentplatform.reserved import without_reserved_metadata
from agentplatform.serde import to_jsonable
from threads.models import Thread
from threads.selectors import graph_errors, thread_get, thread_graph, thread_graph_config, threads_authorized
from threads.state import command_from_json, interrupts_by_task, jsonb_safe, snapshot_to_dict, status_from_snapshot

logger = logging.getLogger(__name__)

TTL_STRATEGIES = ("delete", "keep_latest")
PRUNE_STRATEGIES = ("delete", "keep_latest")


class ThreadCreatedWithErrors(ApplicationError):
    """The official server answers 201 with a detail when a thread was created but its supersteps failed."""

    status_code = 201


def _no_graph_detail(thread_id: uuid.UUID) -> str:
    return (
        f"Thread '{thread_id}' has no assigned graph ID. This usually occurs when no runs have been made on this "
        "particular thread. This operation requires a graph ID. Please ensure a run has been made for the thread "
        "or manually update the thread metadata (by setting the 'graph_id' field) before running this operation."
    )


def _ttl_fields(ttl: dict | None) -> dict[str, Any]:
    """`{"ttl": minutes, "strategy": ...}` -> the model's ttl columns (the SDK turns a bare int into that dict)."""
    if ttl is None:
        configured = get_registry().config.thread_ttl
        if configured.get("default_ttl") is None:
            return {}
        ttl = {"ttl": configured["default_ttl"], "strategy": configured.get("strategy")}
    minutes = float(ttl["ttl"])
    strategy = ttl.get("strategy") or "delete"
    return {
        "ttl_minutes": minutes,
        "ttl_strategy": strategy,
        "expires_at": timezone.now() + datetime.timedelta(minutes=minutes),
    }


def thread_create(
    *,
    thread_id: str | uuid.UUID | None = None,
    metadata: dict | None = None,
    if_exists: str = "raise",
    ttl: dict | None = None,
    supersteps: list[dict] | None = None,
    user: AuthUser | None = None,
    headers: Mapping[str, str] | None = None,
) -> Thread:
    """A new idle thread; `if_exists="do_nothing"` returns an existing one instead of answering 409 (unless the
    user's filter excludes it: then 409, as officially). `supersteps` are applied for the request's `user` and
    `headers` (what a graph factory sees)."""
    pk = parse_uuid(thread_id, "thread") if thread_id else uuid7()
    value = {"thread_id": pk, "metadata": without_reserved_metadata(metadata), "if_exists": if_exists}
    filter_ = authorize_sync(resource="threads", action="create", value=value, user=user)
    # A new uuid7 is nobody's yet: only a caller's own id may name an existing thread.
    existing = Thread.objects.filter(thread_id=pk).first() if thread_id else None
    if existing is not None:
        return _existing(existing, if_exists=if_exists, theirs=filter_ is None or filter_.matches(existing.metadata))
    try:
        # One INSERT commits by itself (no BEGIN and COMMIT round trips); inside a caller's transaction, a savepoint
        # keeps a conflict from breaking it.
        with transaction.atomic() if transaction.get_connection().in_atomic_block else contextlib.nullcontext():
            thread = Thread.objects.create(thread_id=pk, metadata=value["metadata"], **_ttl_fields(ttl))
    except IntegrityError:
        # Created concurrently by another request.
        existing = Thread.objects.get(thread_id=pk)
        return _existing(existing, if_exists=if_exists, theirs=filter_ is None or filter_.matches(existing.metadata))
    if supersteps:
        _apply_supersteps(thread, supersteps, user=user, headers=headers)
        thread.refresh_from_db()
    return thread


def _existing(thread: Thread, *, if_exists: str, theirs: bool) -> Thread:
    if if_exists == "do_nothing" and theirs:
        return thread
    raise Conflict(f"Thread with ID {thread.thread_id} already exists")


def _apply_supersteps(thread: Thread, supersteps: list[dict], **request: Any) -> None:
    try:
        thread_bulk_update_state(thread=thread, supersteps=supersteps, **request)
    except ApplicationError as exc:
        raise ThreadCreatedWithErrors(
            f"Thread {thread.thread_id} was created, but there were problems updating the state: {exc.detail}"
        ) from exc


def thread_bulk_update_state(
    *,
    thread: Thread,
    supersteps: list[dict],
    user: AuthUser | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Apply `[{"updates": [{"values"|"command", "as_node"}]}]` as successive supersteps (graph.bulk_update_state)."""
    config = thread_graph_config(thread, {"checkpoint_ns": ""}, headers=headers)
    with thread_graph(thread, config, AccessContext.UPDATE, user=user) as graph:
        if graph is None:
            raise BadRequest(_no_graph_detail(thread.thread_id))
        with graph_errors():
            next_config = graph.bulk_update_state(config, [_superstep(step) for step in supersteps])
            snapshot = graph.get_state(config)
    _refresh_after_update(thread, snapshot)
    return {"checkpoint": next_config["configurable"]}


def _superstep(step: dict) -> list[StateUpdate]:
    return [
        StateUpdate(command_from_json(u["command"]) if u.get("command") else u.get("values"), u.get("as_node"))
        for u in step.get("updates", [])
    ]


def thread_update(
    *, thread_id: str | uuid.UUID, metadata: dict | None = None, ttl: dict | None = None, user: AuthUser | None = None
) -> Thread:
    """Merge `metadata` into the thread's (`{**old, **new}`) and reset its TTL if one is given."""
    pk = parse_uuid(thread_id, "thread")
    value = {"thread_id": pk, "metadata": without_reserved_metadata(metadata)}
    visible = threads_authorized(user=user, action="update", value=value)
    with transaction.atomic():
        thread = visible.select_for_update().filter(thread_id=pk).first()
        if thread is None:
            raise NotFound("Not Found")  # the official PATCH answers the generic detail
        thread.metadata = {**(thread.metadata or {}), **value["metadata"]}
        if ttl is not None:
            for field, value in _ttl_fields(ttl).items():
                setattr(thread, field, value)
        thread.updated_at = timezone.now()
        thread.save()
    return thread


def thread_delete(*, thread_id: str | uuid.UUID, user: AuthUser | None = None) -> None:
    """Delete the thread, its runs (FK cascade) and its checkpoints, even while a run is in flight."""
    pk = thread_get(thread_id=thread_id, user=user, action="delete").thread_id
    Thread.objects.filter(thread_id=pk).delete()
    sync_checkpointer().delete_thread(str(pk))


def thread_prune(*, thread_ids: list[str], strategy: str = "delete", user: AuthUser | None = None) -> int:
    """`delete`: remove the threads; `keep_latest`: keep each thread but only its latest checkpoint per namespace.

    With a filter from the user's delete handler every id must be a thread they may delete, or nothing is
    pruned (404), as officially; without one unknown ids are skipped.
    """
    ids = [parse_uuid(t, "thread") for t in thread_ids]
    if strategy not in PRUNE_STRATEGIES:
        raise InvalidInput(f"Invalid strategy: {strategy}. Expected 'delete' or 'keep_latest'.")
    filter_ = authorize_sync(resource="threads", action="delete", value={"thread_ids": thread_ids}, user=user)
    queryset = Thread.objects.filter(thread_id__in=ids)
    if filter_ is not None:
        queryset = queryset.filter(filter_.q())
    found = [str(pk) for pk in queryset.values_list("thread_id", flat=True)]
    if filter_ is not None and len(found) < len(set(ids)):
        raise NotFound("At least one thread not found or not authorized")
    if not found:
        return 0
    if strategy == "delete":
        Thread.objects.filter(thread_id__in=found).delete()
    try:
        sync_checkpointer().prune(found, strategy=strategy)
    except NotImplementedError as exc:
        raise BadRequest(f"Cannot prune with keep_latest: {exc}") from exc
    return len(found)


def thread_sweep_expired(*, limit: int = 100) -> int:
    """Apply the TTL of up to `limit` expired, non-busy threads: delete them, or keep only their latest checkpoints.

    For the beat sweeper (official checkpointer.ttl). A `keep_latest` thread stays and expires again a TTL later.
    """
    now = timezone.now()
    expired = list(
        Thread.objects.filter(expires_at__lte=now)
        .exclude(status=Thread.Status.BUSY)
        .order_by("expires_at")
        .values_list("thread_id", "ttl_strategy", "ttl_minutes")[:limit]
    )
    to_delete = [str(pk) for pk, strategy, _ in expired if strategy != "keep_latest"]
    if to_delete:
        thread_prune(thread_ids=to_delete, strategy="delete")
    for pk, strategy, minutes in expired:
        if strategy == "keep_latest":
            thread_prune(thread_ids=[str(pk)], strategy="keep_latest")
            next_expiry = now + datetime.timedelta(minutes=minutes or 0)
            Thread.objects.filter(thread_id=pk).update(expires_at=next_expiry if minutes else None)
    return len(expired)


def thread_copy(*, thread_id: str | uuid.UUID, user: AuthUser | None = None) -> Thread:
    """A new idle thread with the same metadata and a copy of every checkpoint (all namespaces) of the source.

    The user must be able to read the source and create a thread; their create handler sees the copy's metadata
    and may stamp it (the copy then belongs to whoever made it).
    """
    source = thread_get(thread_id=thread_id, user=user)
    value = {"thread_id": uuid7(), "metadata": dict(source.metadata or {})}
    authorize_sync(resource="threads", action="create", value=value, user=user)
    now = timezone.now()
    with transaction.atomic():
        # Inside the transaction: a failed checkpoint copy leaves no half-made thread row behind.
        copy = Thread.objects.create(
            thread_id=value["thread_id"],
            metadata=value["metadata"],
            config=source.config,
            values=source.values,
            interrupts=source.interrupts,
            created_at=now,
            updated_at=now,
            state_updated_at=now,
        )
        _copy_checkpoints(str(source.thread_id), str(copy.thread_id))
    return copy


# The Postgres checkpointer has no copy_thread: copy its rows as they are, so blobs, pending writes and
# delta-channel history stay exact. Column lists follow langgraph-checkpoint-postgres' schema.
_COPY_SQL = (
    """INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,
       metadata)
    SELECT %(new)s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,
       CASE WHEN metadata ? 'thread_id' THEN jsonb_set(metadata, '{thread_id}', to_jsonb(%(new)s::text))
            ELSE metadata END
    FROM checkpoints WHERE thread_id = %(old)s""",
    """INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %(new)s, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = %(old)s""",
    """INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob,
       task_path)
    SELECT %(new)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
    FROM checkpoint_writes WHERE thread_id = %(old)s""",
)


def _copy_checkpoints(source_id: str, target_id: str) -> None:
    with sync_checkpointer().conn.connection() as conn, conn.transaction():
        for sql in _COPY_SQL:
            conn.execute(sql, {"old": source_id, "new": target_id})


def thread_state_update(
    *,
    thread_id: str | uuid.UUID,
    values: dict | list | None,
    as_node: str | None = None,
    checkpoint: dict | None = None,
    user: AuthUser | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A new checkpoint from `values` (as if `as_node` ran), optionally forking from `checkpoint`; `headers` are
    the request's (what a graph factory and the checkpoint's metadata see)."""
    thread = thread_get(thread_id=thread_id, user=user, action="update")
    if thread.status == Thread.Status.BUSY:
        raise Conflict(f"Thread {thread.thread_id} has in-flight runs: wait for them or cancel them first.")
    # A null field (the SDK sends checkpoint_ns: null) means "unset": NULL would break the checkpoint row's key.
    fork = {k: v for k, v in (checkpoint or {}).items() if k != "thread_id" and v is not None}
    configurable = {"checkpoint_ns": "", **fork, **_updater(user)}
    config = thread_graph_config(thread, configurable, headers=headers)
    with thread_graph(thread, config, AccessContext.UPDATE, user=user) as graph:
        if graph is None:
            raise BadRequest(_no_graph_detail(thread.thread_id))
        with graph_errors():
            next_config = graph.update_state(config, values, as_node=as_node)
            snapshot = graph.get_state(thread_graph_config(thread))
    _refresh_after_update(thread, snapshot)
    configurable = to_jsonable(next_config["configurable"])
    return {"checkpoint": configurable, "configurable": configurable, "checkpoint_id": configurable["checkpoint_id"]}


def _updater(user: AuthUser | None) -> dict[str, str]:
    # As officially, a state update records who made it: `user_id` (the caller's display name) lands in the new
    # checkpoint's metadata, as LangGraph copies string configurable values there.
    return {"user_id": user.display_name} if user is not None and user.display_name else {}


def _refresh_after_update(thread: Thread, snapshot: StateSnapshot) -> None:
    thread_refresh_from_state(
        thread_id=thread.thread_id,
        values=to_jsonable(snapshot.values),
        interrupts=interrupts_by_task(snapshot),
        status=status_from_snapshot(snapshot),
        keep_busy=True,
    )
    _publish_state_update(thread.thread_id, snapshot)


def _publish_state_update(thread_id: uuid.UUID, snapshot: StateSnapshot) -> None:
    """The official `state_update` thread event, for `GET /threads/{id}/stream?stream_modes=state_update`."""
    data = {"state": snapshot_to_dict(snapshot), "thread_id": str(thread_id)}
    try:
        stream_log.append_thread_sync(thread_id, "state_update", data)
    except redis.RedisError:
        # Redis may lose events (design.md); the state itself is safe in Postgres.
        logger.warning("could not publish state_update for thread %s", thread_id, exc_info=True)


def thread_refresh_from_state(
    *,
    thread_id: uuid.UUID | str,
    values: Any,
    interrupts: dict[str, list],
    status: str,
    error: dict | None = None,
    keep_busy: bool = False,
) -> None:
    """Write a thread's values/interrupts/status/error from its latest state and stamp state_updated_at.

    `values` and `interrupts` must be plain JSON (see threads.state.interrupts_by_task / agentplatform.serde).
    `keep_busy=True` leaves a thread that became busy meanwhile (a run was just created on it) busy.
    """
    now = timezone.now()
    values, interrupts, error = (jsonb_safe(v) for v in (values, interrupts, error))
    new_status: Any = Value(status)
    if keep_busy:
        new_status = Case(When(status=Thread.Status.BUSY, then=F("status")), default=Value(status))
    Thread.objects.filter(thread_id=thread_id).update(
        values=values,
        interrupts=interrupts,
        status=new_status,
        error=error,
        updated_at=now,
        state_updated_at=now,
    )


def threads_delete_for_assistant(*, assistant_id: uuid.UUID, delete_threads: bool, user: AuthUser | None) -> None:
    """Assistant-delete hook: with `delete_threads`, remove the threads whose metadata names that assistant (those
    the user may delete; the others stay, as officially)."""
    if not delete_threads:
        return
    value = {"assistant_id": assistant_id}
    deletable = threads_authorized(user=user, action="delete", value=value)
    named = deletable.filter(metadata__contains={"assistant_id": str(assistant_id)})
    ids = [str(pk) for pk in named.values_list("thread_id", flat=True)]
    if not ids:
        return
    Thread.objects.filter(thread_id__in=ids).delete()
    checkpointer = sync_checkpointer()
    for thread_id in ids:
        checkpointer.delete_thread(thread_id)
