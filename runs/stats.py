"""Reads that sum up the run engine for an operator: runs by status, the queue, the workers and what failed.

There is no worker table: a worker is known by the leases it holds. `lease_owner` is `host:pid:thread` and each
heartbeat moves `lease_expires_at` to now + BG_JOB_HEARTBEAT, so a worker's last heartbeat is its newest
lease expiry minus that window, and a worker is alive while one of its leases is unexpired. An idle worker holds
no lease and does not appear.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from runs.models import Run

FAILED = (Run.Status.ERROR, Run.Status.TIMEOUT)
# The running runs a dashboard lists at most (workers x N_JOBS_PER_WORKER in practice).
MAX_LEASES = 500


def run_count_by_status(*, since: datetime.datetime) -> dict[str, int]:
    """Runs created since `since`, by status (every status present, zero when none)."""
    counts = dict.fromkeys(Run.Status.values, 0)
    rows = Run.objects.filter(created_at__gte=since).values_list("status").annotate(n=Count("*")).order_by()
    counts.update(dict(rows))
    return counts


@dataclass(frozen=True)
class Queue:
    pending: int  # every pending run, delayed ones (after_seconds) included
    ready: int  # pending runs a worker may start now
    oldest_ready_at: datetime.datetime | None
    running: int

    def oldest_age(self, now: datetime.datetime) -> datetime.timedelta | None:
        return None if self.oldest_ready_at is None else max(now - self.oldest_ready_at, datetime.timedelta(0))


def run_queue(*, now: datetime.datetime | None = None) -> Queue:
    now = now or timezone.now()
    ready = Q(available_at__lte=now)
    pending = Run.objects.filter(status=Run.Status.PENDING).aggregate(
        pending=Count("run_id"), ready=Count("run_id", filter=ready), oldest=Min("available_at", filter=ready)
    )
    running = Run.objects.filter(status=Run.Status.RUNNING).count()
    return Queue(pending["pending"], pending["ready"], pending["oldest"], running)


@dataclass
class Worker:
    name: str  # host:pid
    runs: list[Run] = field(default_factory=list)
    last_heartbeat: datetime.datetime | None = None
    alive: bool = False


def worker_name(lease_owner: str) -> str:
    """`host:pid:thread` -> `host:pid` (one Celery worker process runs its runs on several threads)."""
    return lease_owner.rsplit(":", 1)[0] if lease_owner.count(":") >= 2 else lease_owner


def worker_list(*, now: datetime.datetime | None = None) -> list[Worker]:
    """The workers holding leases on running runs, busiest first, each with its runs and last heartbeat."""
    now = now or timezone.now()
    window = datetime.timedelta(seconds=settings.BG_JOB_HEARTBEAT)
    running = (
        Run.objects.filter(status=Run.Status.RUNNING)
        .only("run_id", "thread_id", "assistant_id", "attempt", "lease_owner", "lease_expires_at", "started_at")
        .order_by("started_at")[:MAX_LEASES]
    )
    workers: dict[str, Worker] = {}
    for run in running:
        worker = workers.setdefault(worker_name(run.lease_owner or "?"), Worker(worker_name(run.lease_owner or "?")))
        worker.runs.append(run)
        if run.lease_expires_at is not None:
            heartbeat = run.lease_expires_at - window
            worker.last_heartbeat = max(filter(None, (worker.last_heartbeat, heartbeat)))
            worker.alive = worker.alive or run.lease_expires_at > now
    return sorted(workers.values(), key=lambda w: (-len(w.runs), w.name))


def run_failures_recent(*, limit: int = 10) -> list[Run]:
    """The last runs that ended in error or timeout, newest first."""
    return list(
        Run.objects.filter(status__in=FAILED, ended_at__isnull=False)
        .only("run_id", "thread_id", "assistant_id", "status", "ended_at", "error", "attempt")
        .order_by("-ended_at")[:limit]
    )
