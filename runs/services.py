"""Writes on runs from the API: create (with double-texting strategies), cancel, delete.

Every write that involves a thread's runs first locks the thread row (SELECT ... FOR UPDATE), so two requests
on one thread are serialized: `reject` can never let two runs in, and a cancel never races a claim.

Runs are resources of their thread: `user`'s `@auth.on.threads` handler (create_run, read, update, delete) says
which threads a write may touch, and a run's assistant must be one the user may read (system assistants
excepted, as officially). Outside the filter, a thread answers exactly as an unknown id. None is the server.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from access.authorization import authorize_sync
from access.filters import Filter
from access.users import AuthUser, auth_configurable
from agentplatform import stream_log
from agentplatform.errors import Conflict, InvalidInput, NotFound
from agentplatform.ids import parse_uuid, uuid7
from agentplatform.run_headers import run_configurable_headers
from assistants.models import Assistant
from assistants.selectors import assistant_readable
from assistants.services import assistant_resolve
from runs import enqueue
from runs.engine import doorbell
from runs.engine.checkpoints import checkpoints_delete_for_run
from runs.engine.webhooks import webhook_validate
from runs.models import CANCELLING, Run
from runs.payload import IfNotExists, MultitaskStrategy, OnCompletion, RunRequest, parse_run_payload
from runs.selectors import runs_authorized
from threads.models import Thread

THREAD_OR_ASSISTANT_NOT_FOUND = "Thread or assistant not found."
REJECT_DETAIL = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
NO_RUNS_TO_CANCEL = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, and the runs haven't been "
    "deleted or completed."
)
CANCEL_ACTIONS = ("interrupt", "rollback")


def _assistant(ref: str, user: AuthUser | None) -> Assistant:
    try:
        assistant = assistant_resolve(assistant_id=ref)
    except NotFound:
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND) from None
    system = (assistant.metadata or {}).get("created_by") == "system"
    if not system and not assistant_readable(assistant=assistant, user=user):
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
    return assistant


def _new_thread_metadata(request: RunRequest, assistant: Assistant) -> dict:
    return {
        "graph_id": assistant.graph_id,
        "assistant_id": str(assistant.assistant_id),
        **(request.config.get("metadata") or {}),
        **request.metadata,
    }


def _thread_visible(thread: enqueue.ThreadRow | None, filter_: Filter | None) -> enqueue.ThreadRow:
    """The thread, if the user's create_run filter lets them use it (else 404, as for an unknown id)."""
    if thread is None or (filter_ is not None and not filter_.matches(thread.metadata)):
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
    return thread


def _locked_thread(
    thread_id: uuid.UUID, request: RunRequest, assistant: Assistant, filter_: Filter | None
) -> enqueue.ThreadRow:
    """The thread row, locked for this transaction (if the user's create_run filter lets them use it); created
    when the request allows it."""
    if request.if_not_exists == IfNotExists.CREATE:
        metadata = _new_thread_metadata(request, assistant)
        # ON CONFLICT DO NOTHING: a concurrent request may create the same thread first.
        Thread.objects.bulk_create(
            [Thread(thread_id=thread_id, metadata=metadata, status=Thread.Status.BUSY)], ignore_conflicts=True
        )
    return _thread_visible(enqueue.thread_lock(thread_id), filter_)


def _user_id(request: RunRequest, thread: Thread, assistant: Assistant, user: AuthUser | None) -> str | None:
    """The official `user_id` of a run's configurable: the one its config, its thread's or its assistant's gives,
    else the caller's identity ("" for an anonymous caller, None for the server itself)."""
    stored = ((thread.config or {}).get("configurable"), (assistant.config or {}).get("configurable"))
    for configurable in (request.config.get("configurable"), *stored):
        if (configurable or {}).get("user_id"):
            return configurable["user_id"]
    return user.identity if user is not None else None


def _kwargs(
    request: RunRequest,
    assistant: Assistant,
    thread: Thread,
    run_id: uuid.UUID,
    *,
    temporary: bool,
    headers: dict,
    user: AuthUser | None,
) -> dict:
    """The official Run.kwargs: the run's config merged over the assistant's and thread's, then the request's
    headers that http.configurable_headers lets through (agentplatform.run_headers), then the server's ids and the
    caller (langgraph_auth_user...; a run the server makes for itself carries none)."""
    configurable = {
        **((assistant.config or {}).get("configurable") or {}),
        **((thread.config or {}).get("configurable") or {}),
        **request.config.get("configurable", {}),
        **(request.checkpoint or {}),
        **headers,
        "run_id": str(run_id),
        "thread_id": str(thread.thread_id),
        "graph_id": assistant.graph_id,
        "assistant_id": str(assistant.assistant_id),
        "user_id": _user_id(request, thread, assistant, user),
        **(auth_configurable(user) if user is not None else {}),
    }
    metadata = _run_metadata(request, assistant, thread)
    config = {**(assistant.config or {}), **request.config, "configurable": configurable, "metadata": metadata}
    return {
        "input": request.input,
        "command": request.command,
        "config": config,
        "context": {**(assistant.context or {}), **request.context},
        "stream_mode": request.stream_mode,
        "interrupt_before": request.interrupt_before,
        "interrupt_after": request.interrupt_after,
        "webhook": request.webhook,
        "feedback_keys": request.feedback_keys,
        "temporary": temporary,
        "subgraphs": request.subgraphs,
        "resumable": request.resumable,
        "checkpoint_during": request.checkpoint_during,
        "durability": request.durability,
    }


def _run_metadata(request: RunRequest, assistant: Assistant, thread: Thread) -> dict:
    # api-surface §2.2: assistant, thread, config.metadata, request metadata merged, assistant_id always ours.
    merged = {
        **(assistant.metadata or {}),
        **(thread.metadata or {}),
        **(request.config.get("metadata") or {}),
        **request.metadata,
    }
    merged["assistant_id"] = str(assistant.assistant_id)
    return merged


def _in_flight(thread_id: uuid.UUID) -> list[Run]:
    # A run being cancelled counts as interrupted already, as officially: `reject` lets the next run in, and it
    # waits (pending) until the worker has stopped the old one.
    runs = Run.objects.filter(thread_id=thread_id, status__in=Run.IN_FLIGHT).exclude(CANCELLING)
    return list(runs.order_by("created_at"))


def _refuse_unless_inserted(check: enqueue.Check, strategy: MultitaskStrategy) -> None:
    """Double texting as the insert's check saw it: reject refuses a busy thread, enqueue a full queue."""
    if not check.thread_found:
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
    if check.inserted:
        return
    if strategy == MultitaskStrategy.REJECT and check.active:
        raise Conflict(REJECT_DETAIL)
    cap = settings.RUNS_MAX_PENDING_PER_THREAD
    if strategy == MultitaskStrategy.ENQUEUE and check.pending >= cap:
        # Counted under the thread's row lock, so concurrent enqueues cannot pass it.
        raise InvalidInput(
            f"The thread already has {cap} pending runs, the most it may queue (the RUNS_MAX_PENDING_PER_THREAD"
            " setting); wait for some of them to finish"
        )
    raise RuntimeError(f"run not inserted, and no reason found: {check}")  # unreachable: the thread was locked


def _create_run_value(request: RunRequest, assistant: Assistant, thread_id: uuid.UUID | None, temporary: bool):
    """The official `threads.create_run` payload; its handler may stamp `metadata` (the run's and a new thread's)."""
    return {
        "thread_id": None if temporary else thread_id,
        "assistant_id": assistant.assistant_id,
        "run_id": None,
        "status": Run.Status.PENDING.value,
        "metadata": dict(request.metadata),
        "prevent_insert_if_inflight": request.multitask_strategy == MultitaskStrategy.REJECT,
        "multitask_strategy": request.multitask_strategy.value,
        "if_not_exists": request.if_not_exists.value,
        "after_seconds": request.after_seconds,
        "kwargs": {"input": request.input, "command": request.command, "config": request.config},
    }


def run_create(
    *,
    thread_id: uuid.UUID | str | None,
    payload: Any,
    stateless: bool = False,
    user: AuthUser | None = None,
    headers: Mapping[str, str] | None = None,
    streaming: bool = False,
) -> Run:
    """Validate a run-create body and insert the pending run; its Celery doorbell rings after commit.

    `user` is the caller (None: the server itself). `headers` are the creating request's (lower-case names); a
    cron's runs have none, as on the official server. `streaming`: the body is that of /wait or /stream (which also
    takes on_disconnect).
    """
    request = parse_run_payload(payload, stateless=stateless or thread_id is None, streaming=streaming)
    assistant = _assistant(request.assistant_ref, user)
    if request.webhook:
        webhook_validate(request.webhook)
    temporary = thread_id is None and request.on_completion == OnCompletion.DELETE
    thread_pk = parse_uuid(thread_id, "thread") if thread_id is not None else None
    value = _create_run_value(request, assistant, thread_pk, temporary)
    filter_ = authorize_sync(resource="threads", action="create_run", value=value, user=user)
    request = dataclasses.replace(request, metadata=value["metadata"])
    build = _RunBuilder(request, assistant, temporary, run_configurable_headers(headers), user)
    if thread_pk is None:
        # A stateless run's thread is new and known to nobody else: no lock, no double texting to apply.
        thread = enqueue.ThreadRow(uuid7(), _new_thread_metadata(request, assistant), {})
        run = build.run(thread, uuid7())
        enqueue.run_insert_with_thread(build.params(run, None, thread.metadata))
    else:
        run = _create_on_thread(thread_pk, build, filter_)
        transaction.on_commit(lambda: stream_log.note_run_created_sync(run.thread_id, run.run_id))
    run._state.adding, run._state.db = False, connection.alias  # saved, as Run.objects.create would leave it
    if doorbell.rings_at_creation(request.after_seconds):
        # At once when no transaction is open (the run is committed), else once the caller's commits.
        transaction.on_commit(lambda: doorbell.ring(run.run_id, countdown=request.after_seconds or None))
    return run


# Strategies whose check is the insert's own: the others cancel what is in flight first, under the lock.
_CHECKED_IN_INSERT = (MultitaskStrategy.REJECT, MultitaskStrategy.ENQUEUE)


def _create_on_thread(thread_id: uuid.UUID, build: _RunBuilder, filter_: Filter | None) -> Run:
    """Insert the run on an existing thread: in two round trips when possible (enqueue.py says how), else
    under the thread's lock in a transaction."""
    request = build.request
    if (
        not connection.in_atomic_block
        and request.if_not_exists != IfNotExists.CREATE
        and request.multitask_strategy in _CHECKED_IN_INSERT
    ):
        seen = _thread_visible(enqueue.thread_read(thread_id), filter_)
        run = build.run(seen, uuid7())
        check = enqueue.run_insert_checked(build.params(run, seen), in_transaction=False)
        if check.unchanged or not check.thread_found:
            _refuse_unless_inserted(check, request.multitask_strategy)
            return run
        # The thread's metadata or config changed since it was read: build the run again from the locked row.
    with transaction.atomic():
        thread = _locked_thread(thread_id, request, build.assistant, filter_)
        if request.multitask_strategy not in _CHECKED_IN_INSERT and (in_flight := _in_flight(thread_id)):
            _cancel_locked(in_flight, action=request.multitask_strategy)
        run = build.run(thread, uuid7())
        check = enqueue.run_insert_checked(build.params(run, thread), in_transaction=True)
        _refuse_unless_inserted(check, request.multitask_strategy)
    return run


@dataclasses.dataclass(frozen=True)
class _RunBuilder:
    """A pending run of one create request, built (not saved) from the thread it goes to."""

    request: RunRequest
    assistant: Assistant
    temporary: bool
    headers: dict
    user: AuthUser | None

    def run(self, thread: enqueue.ThreadRow, run_id: uuid.UUID) -> Run:
        request, assistant = self.request, self.assistant
        now = timezone.now()
        start = now + timedelta(seconds=request.after_seconds)
        kwargs = _kwargs(
            request, assistant, thread, run_id, temporary=self.temporary, headers=self.headers, user=self.user
        )
        return Run(
            run_id=run_id,
            thread_id=thread.thread_id,
            assistant_id=assistant.assistant_id,
            status=Run.Status.PENDING,
            metadata=kwargs["config"]["metadata"],
            kwargs=kwargs,
            multitask_strategy=request.multitask_strategy,
            # As on the official server, a delayed run is stored as created at its start time.
            created_at=start,
            updated_at=now,
            available_at=start,
            # Rung when due (a short countdown) or left to the sweeper, which rings runs with no enqueued_at once due.
            enqueued_at=start if doorbell.rings_at_creation(request.after_seconds) else None,
            temporary=self.temporary,
        )

    def params(self, run: Run, seen: enqueue.ThreadRow | None, thread_metadata: dict | None = None) -> dict:
        if thread_metadata is None:  # the thread it goes to records the graph it last ran
            graph = {"graph_id": self.assistant.graph_id, "assistant_id": str(self.assistant.assistant_id)}
            thread_metadata = {**(seen.metadata or {}), **graph}
        cap = settings.RUNS_MAX_PENDING_PER_THREAD
        return enqueue.run_params(run, seen=seen, thread_metadata=thread_metadata, now=run.updated_at, cap=cap)


def _cancel_locked(runs: list[Run], *, action: str) -> None:
    """Cancel runs whose thread row is locked: pending ones at once, running ones through their worker."""
    now = timezone.now()
    for run in runs:
        if run.status == Run.Status.RUNNING:
            # Its worker stops the graph on the control message, or on its next poll of cancel_action.
            Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(cancel_action=action, updated_at=now)
            transaction.on_commit(lambda run_id=run.run_id: stream_log.publish_cancel_sync(run_id, action))
        elif action == "rollback":
            run_delete_with_checkpoints(run=run)
            transaction.on_commit(lambda run_id=run.run_id: stream_log.finish_sync(run_id, "interrupted", {}))
        else:
            Run.objects.filter(pk=run.pk, status=Run.Status.PENDING).update(
                status=Run.Status.INTERRUPTED, cancel_action=action, ended_at=now, updated_at=now
            )
            transaction.on_commit(lambda run_id=run.run_id: stream_log.finish_sync(run_id, "interrupted", {}))


def _settle_thread_after_cancel(thread_id: uuid.UUID) -> None:
    """A thread whose pending runs were all cancelled is idle again (the official server does the same)."""
    if not Run.objects.filter(thread_id=thread_id, status__in=Run.IN_FLIGHT).exists():
        Thread.objects.filter(thread_id=thread_id, status=Thread.Status.BUSY).update(
            status=Thread.Status.IDLE, updated_at=timezone.now()
        )


def run_cancel(
    *,
    thread_id: uuid.UUID | str | None = None,
    run_ids: list | None = None,
    status: str | None = None,
    action: str = "interrupt",
    user: AuthUser | None = None,
) -> list[uuid.UUID]:
    """Cancel in-flight runs (by thread + ids, or by status); 404 when none matched. Returns the cancelled ids.

    Only runs on threads the user may update are candidates, `status` included (another user's runs are as
    absent as unknown ones).
    """
    action = action if action in CANCEL_ACTIONS else "interrupt"
    candidates = _cancel_candidates(thread_id=thread_id, run_ids=run_ids, status=status, action=action, user=user)
    cancelled: list[uuid.UUID] = []
    for thread_pk in sorted({tid for tid, _ in candidates}):
        with transaction.atomic():
            Thread.objects.select_for_update().filter(thread_id=thread_pk).first()
            ids = [rid for tid, rid in candidates if tid == thread_pk]
            runs = list(Run.objects.filter(run_id__in=ids, status__in=Run.IN_FLIGHT).exclude(CANCELLING))
            _cancel_locked(runs, action=action)
            _settle_thread_after_cancel(thread_pk)
            cancelled.extend(run.run_id for run in runs)
    if not cancelled:
        raise NotFound(NO_RUNS_TO_CANCEL)
    return cancelled


def _cancel_candidates(
    *, thread_id: Any, run_ids: list | None, status: str | None, action: str, user: AuthUser | None
) -> list[tuple]:
    ids_ok = isinstance(run_ids, list) and all(isinstance(r, (str, uuid.UUID)) for r in run_ids)
    if run_ids is not None and not ids_ok:
        raise InvalidInput("run_ids: must be a list of run IDs")
    if status is not None and not isinstance(status, str):
        raise InvalidInput("Invalid status: must be 'pending', 'running', or 'all'")
    statuses = {"pending": [Run.Status.PENDING], "running": [Run.Status.RUNNING], "all": list(Run.IN_FLIGHT)}
    if status is not None and status not in statuses:
        raise InvalidInput("Invalid status: must be 'pending', 'running', or 'all'")
    ids = [parse_uuid(rid, "run") for rid in (run_ids or [])]
    thread_pk = parse_uuid(thread_id, "thread") if thread_id is not None and status is None else None
    value = {"thread_id": thread_pk, "action": action, "metadata": {"run_ids": ids or None, "status": status}}
    queryset = runs_authorized(user=user, action="update", value=value)
    if status is not None:
        queryset = queryset.filter(status__in=statuses[status])
    else:
        queryset = queryset.filter(run_id__in=ids, status__in=Run.IN_FLIGHT)
        if thread_pk is not None:
            queryset = queryset.filter(thread_id=thread_pk)
    # A run already being cancelled shows as interrupted and is no longer cancellable (official behaviour).
    return list(queryset.exclude(CANCELLING).values_list("thread_id", "run_id"))


def run_delete(*, thread_id: uuid.UUID | str, run_id: uuid.UUID | str, user: AuthUser | None = None) -> None:
    """Delete a run and the checkpoints it wrote; a running run is rolled back by its worker instead."""
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    deletable = runs_authorized(user=user, action="delete", value={"run_id": run_pk, "thread_id": thread_pk})
    with transaction.atomic():
        Thread.objects.select_for_update().filter(thread_id=thread_pk).first()
        run = deletable.filter(run_id=run_pk, thread_id=thread_pk).first()
        if run is None:
            raise NotFound("Run not found")
        if run.status in Run.IN_FLIGHT:
            _cancel_locked([run], action="rollback")
            _settle_thread_after_cancel(thread_pk)
        else:
            run_delete_with_checkpoints(run=run)


def run_delete_with_checkpoints(*, run: Run) -> None:
    """Delete the run row and every checkpoint it wrote (checkpoints carry the run_id in their metadata)."""
    checkpoints_delete_for_run(thread_id=run.thread_id, run_id=run.run_id)
    Run.objects.filter(pk=run.pk).delete()


def run_cancel_quietly(*, thread_id: uuid.UUID, run_id: uuid.UUID, user: AuthUser | None = None) -> None:
    """Cancel (interrupt) a run whose client went away (on_disconnect=cancel); a finished run is left alone."""
    try:
        run_cancel(thread_id=thread_id, run_ids=[run_id], user=user)
    except NotFound:
        pass


def run_create_batch(
    *, payloads: list, user: AuthUser | None = None, headers: Mapping[str, str] | None = None
) -> list[Run]:
    """Several stateless runs, all or none; each sees the request's headers."""
    if len(payloads) > settings.RUNS_BATCH_MAX_SIZE:
        cap = settings.RUNS_BATCH_MAX_SIZE
        raise InvalidInput(f"A batch holds at most {cap} runs (the RUNS_BATCH_MAX_SIZE setting); got {len(payloads)}")
    with transaction.atomic():
        return [
            run_create(thread_id=None, payload=payload, stateless=True, user=user, headers=headers)
            for payload in payloads
        ]


def runs_cancel_for_assistant(*, assistant_id: uuid.UUID, user: AuthUser | None = None, **_: Any) -> None:
    """Interrupt the in-flight runs of an assistant being deleted (an assistants delete hook), those on threads
    the user may update, as officially."""
    in_flight = Run.objects.filter(assistant_id=assistant_id, status__in=Run.IN_FLIGHT)
    ids = list(in_flight.values_list("run_id", flat=True))
    if ids:
        try:
            run_cancel(run_ids=ids, user=user)
        except NotFound:
            pass  # they finished meanwhile
