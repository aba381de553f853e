"""Reads of runs. Every read goes through here so that ownership (auth, later) is one filter in one place."""

from __future__ import annotations

import statistics
import uuid

from django.conf import settings
from django.utils import timezone

from agentplatform.errors import InvalidInput, NotFound
from agentplatform.ids import parse_uuid
from runs.models import Run
from threads.selectors import thread_get

MAX_PAGE = 1000


def run_get(*, thread_id: str | uuid.UUID, run_id: str | uuid.UUID) -> Run:
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    run = Run.objects.filter(run_id=run_pk, thread_id=thread_pk).first()
    if run is None:
        raise NotFound("Run not found")
    return run


def run_get_by_id(*, run_id: str | uuid.UUID) -> Run | None:
    return Run.objects.filter(run_id=parse_uuid(run_id, "run")).first()


def run_list(*, thread_id: str | uuid.UUID, limit: int = 10, offset: int = 0, status: str | None = None) -> list[Run]:
    """A thread's runs, newest first; 404 if the thread does not exist."""
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE} and offset must not be negative")
    thread = thread_get(thread_id=thread_id)
    queryset = Run.objects.filter(thread=thread)
    if status:
        if status not in Run.Status.values:
            raise InvalidInput(f"Invalid status '{status}'. Must be one of: {', '.join(Run.Status.values)}")
        queryset = queryset.filter(status=status)
    return list(queryset.order_by("-created_at", "-run_id")[offset : offset + limit])


def run_queue_stats() -> dict:
    """The `queue` and `workers` sections of /metrics?format=json, as the official server reports them: pending
    and running runs, how long pending runs have waited (max, median; max of those whose thread runs nothing)."""
    pending = list(Run.objects.filter(status=Run.Status.PENDING).values_list("created_at", "thread_id"))
    running = Run.objects.filter(status=Run.Status.RUNNING)
    busy_threads = set(running.values_list("thread_id", flat=True))
    now = timezone.now()
    waits = sorted((now - created_at).total_seconds() for created_at, _ in pending)
    unblocked = [(now - created_at).total_seconds() for created_at, thread in pending if thread not in busy_threads]
    n_running = running.count()
    return {
        "queue": {
            "n_pending": len(pending),
            "pending_runs_wait_time_max_secs": waits[-1] if waits else None,
            "pending_runs_wait_time_med_secs": statistics.median(waits) if waits else None,
            "pending_unblocked_runs_wait_time_max_secs": max(unblocked) if unblocked else None,
            "n_running": n_running,
        },
        # Per worker process, as officially (max is N_JOBS_PER_WORKER); active counts the runs of every worker.
        "workers": {
            "max": settings.N_JOBS_PER_WORKER,
            "active": n_running,
            "available": max(0, settings.N_JOBS_PER_WORKER - n_running),
        },
    }
