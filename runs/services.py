"""Writes on runs from the API: create (with double-texting strategies), cancel, delete.

Every write that involves a thread's runs first locks the thread row (SELECT ... FOR UPDATE), so two requests
on one thread are serialized: `reject` can never let two runs in, and a cancel never races a claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from agentplatform import stream_log
from agentplatform.errors import Conflict, InvalidInput, NotFound
from agentplatform.ids import parse_uuid, uuid7
from agentplatform.run_headers import run_configurable_headers
from assistants.models import Assistant
from assistants.services import assistant_resolve
from runs.engine import doorbell
from runs.engine.checkpoints import checkpoints_delete_for_run
from runs.engine.webhooks import webhook_validate
from runs.models import Run
from runs.payload import IfNotExists, MultitaskStrategy, OnCompletion, RunRequest, parse_run_payload
from threads.models import Thread

THREAD_OR_ASSISTANT_NOT_FOUND = "Thread or assistant not found."
REJECT_DETAIL = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
NO_RUNS_TO_CANCEL = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, and the runs haven't been "
    "deleted or completed."
)
CANCEL_ACTIONS = ("interrupt", "rollback")


def _assistant(ref: str) -> Assistant:
    try:
        return assistant_resolve(assistant_id=ref)
    except NotFound:
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND) from None


def _new_thread_metadata(request: RunRequest, assistant: Assistant) -> dict:
    return {
        "graph_id": assistant.graph_id,
        "assistant_id": str(assistant.assistant_id),
        **(request.config.get("metadata") or {}),
        **request.metadata,
    }


def _locked_thread(thread_id: uuid.UUID, request: RunRequest, assistant: Assistant) -> Thread:
    """The thread row, locked for this transaction; created when the request allows it."""
    if request.if_not_exists == IfNotExists.CREATE:
        metadata = _new_thread_metadata(request, assistant)
        # ON CONFLICT DO NOTHING: a concurrent request may create the same thread first.
        Thread.objects.bulk_create(
            [Thread(thread_id=thread_id, metadata=metadata, status=Thread.Status.BUSY)], ignore_conflicts=True
        )
    thread = Thread.objects.select_for_update().filter(thread_id=thread_id).first()
    if thread is None:
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
    return thread


def _kwargs(
    request: RunRequest, assistant: Assistant, thread: Thread, run_id: uuid.UUID, *, temporary: bool, headers: dict
) -> dict:
    """The official Run.kwargs: the run's config merged over the assistant's and thread's, then the request's
    headers that http.configurable_headers lets through (agentplatform.run_headers), then the server's ids."""
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


def _in_flight(thread: Thread) -> list[Run]:
    return list(Run.objects.filter(thread=thread, status__in=Run.IN_FLIGHT).order_by("created_at"))


def _apply_strategy(thread: Thread, strategy: MultitaskStrategy) -> None:
    """Double texting: reject refuses, interrupt/rollback cancel what is in flight, enqueue waits its turn."""
    if strategy == MultitaskStrategy.ENQUEUE:
        return
    in_flight = _in_flight(thread)
    if not in_flight:
        return
    if strategy == MultitaskStrategy.REJECT:
        raise Conflict(REJECT_DETAIL)
    _cancel_locked(in_flight, action=strategy)


def run_create(
    *,
    thread_id: uuid.UUID | str | None,
    payload: Any,
    stateless: bool = False,
    headers: Mapping[str, str] | None = None,
    streaming: bool = False,
) -> Run:
    """Validate a run-create body and insert the pending run; its Celery doorbell rings after commit.

    `headers` are the creating request's (lower-case names); a cron's runs have none, as on the official server.
    `streaming`: the body is that of /wait or /stream (which also takes on_disconnect).
    """
    request = parse_run_payload(payload, stateless=stateless or thread_id is None, streaming=streaming)
    assistant = _assistant(request.assistant_ref)
    if request.webhook:
        webhook_validate(request.webhook)
    temporary = thread_id is None and request.on_completion == OnCompletion.DELETE
    with transaction.atomic():
        if thread_id is None:
            # A stateless run's thread is new and known to nobody else: no lock, no double texting to apply.
            thread = Thread.objects.create(metadata=_new_thread_metadata(request, assistant), status=Thread.Status.BUSY)
        else:
            thread = _locked_thread(parse_uuid(thread_id, "thread"), request, assistant)
            _apply_strategy(thread, request.multitask_strategy)
        run = _insert(request, assistant, thread, temporary=temporary, headers=run_configurable_headers(headers))
        if thread_id is not None:
            _mark_thread_busy(thread, assistant)
        transaction.on_commit(lambda: doorbell.ring(run.run_id, countdown=request.after_seconds or None))
    return run


def _insert(request: RunRequest, assistant: Assistant, thread: Thread, *, temporary: bool, headers: dict) -> Run:
    now = timezone.now()
    start = now + timedelta(seconds=request.after_seconds)
    run_id = uuid7()
    kwargs = _kwargs(request, assistant, thread, run_id, temporary=temporary, headers=headers)
    return Run.objects.create(
        run_id=run_id,
        thread=thread,
        assistant_id=assistant.assistant_id,
        status=Run.Status.PENDING,
        metadata=kwargs["config"]["metadata"],
        kwargs=kwargs,
        multitask_strategy=request.multitask_strategy,
        # As on the official server, a delayed run is stored as created at its start time.
        created_at=start,
        updated_at=now,
        available_at=start,
        enqueued_at=now,
        temporary=temporary,
    )


def _mark_thread_busy(thread: Thread, assistant: Assistant) -> None:
    thread.metadata = {
        **(thread.metadata or {}),
        "graph_id": assistant.graph_id,
        "assistant_id": str(assistant.assistant_id),
    }
    thread.status = Thread.Status.BUSY
    thread.updated_at = timezone.now()
    thread.save(update_fields=["metadata", "status", "updated_at"])


def _cancel_locked(runs: list[Run], *, action: str) -> None:
    """Cancel runs whose thread row is locked: pending ones at once, running ones through their worker."""
    now = timezone.now()
    for run in runs:
        if run.status == Run.Status.RUNNING:
            # Its worker polls cancel_action and stops the graph within a second.
            Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(cancel_action=action, updated_at=now)
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
) -> list[uuid.UUID]:
    """Cancel in-flight runs (by thread + ids, or by status); 404 when none matched. Returns the cancelled ids."""
    action = action if action in CANCEL_ACTIONS else "interrupt"
    candidates = _cancel_candidates(thread_id=thread_id, run_ids=run_ids, status=status)
    cancelled: list[uuid.UUID] = []
    for thread_pk in sorted({tid for tid, _ in candidates}):
        with transaction.atomic():
            Thread.objects.select_for_update().filter(thread_id=thread_pk).first()
            ids = [rid for tid, rid in candidates if tid == thread_pk]
            runs = list(Run.objects.filter(run_id__in=ids, status__in=Run.IN_FLIGHT))
            _cancel_locked(runs, action=action)
            _settle_thread_after_cancel(thread_pk)
            cancelled.extend(run.run_id for run in runs)
    if not cancelled:
        raise NotFound(NO_RUNS_TO_CANCEL)
    return cancelled


def _cancel_candidates(*, thread_id: Any, run_ids: list | None, status: str | None) -> list[tuple]:
    ids_ok = isinstance(run_ids, list) and all(isinstance(r, (str, uuid.UUID)) for r in run_ids)
    if run_ids is not None and not ids_ok:
        raise InvalidInput("run_ids: must be a list of run IDs")
    if status is not None and not isinstance(status, str):
        raise InvalidInput("Invalid status: must be 'pending', 'running', or 'all'")
    if status is not None:
        statuses = {"pending": [Run.Status.PENDING], "running": [Run.Status.RUNNING], "all": list(Run.IN_FLIGHT)}
        if status not in statuses:
            raise InvalidInput("Invalid status: must be 'pending', 'running', or 'all'")
        queryset = Run.objects.filter(status__in=statuses[status])
    else:
        ids = [parse_uuid(rid, "run") for rid in (run_ids or [])]
        queryset = Run.objects.filter(run_id__in=ids, status__in=Run.IN_FLIGHT)
        if thread_id is not None:
            queryset = queryset.filter(thread_id=parse_uuid(thread_id, "thread"))
    return list(queryset.values_list("thread_id", "run_id"))


def run_delete(*, thread_id: uuid.UUID | str, run_id: uuid.UUID | str) -> None:
    """Delete a run and the checkpoints it wrote; a running run is rolled back by its worker instead."""
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    with transaction.atomic():
        Thread.objects.select_for_update().filter(thread_id=thread_pk).first()
        run = Run.objects.filter(run_id=run_pk, thread_id=thread_pk).first()
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


def run_cancel_quietly(*, thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
    """Cancel (interrupt) a run whose client went away (on_disconnect=cancel); a finished run is left alone."""
    try:
        run_cancel(thread_id=thread_id, run_ids=[run_id])
    except NotFound:
        pass


def run_create_batch(*, payloads: list, headers: Mapping[str, str] | None = None) -> list[Run]:
    """Several stateless runs, all or none; each sees the request's headers."""
    with transaction.atomic():
        return [run_create(thread_id=None, payload=payload, stateless=True, headers=headers) for payload in payloads]


def runs_cancel_for_assistant(*, assistant_id: uuid.UUID, **_: Any) -> None:
    """Interrupt the in-flight runs of an assistant being deleted (an assistants delete hook)."""
    ids = list(Run.objects.filter(assistant_id=assistant_id, status__in=Run.IN_FLIGHT).values_list("run_id", flat=True))
    if ids:
        try:
            run_cancel(run_ids=ids)
        except NotFound:
            pass  # they finished meanwhile
