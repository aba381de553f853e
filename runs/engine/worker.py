"""What a worker does for one doorbell: claim a run, execute it on the process loop while holding its lease,
write its ending (fenced), then ring for the thread's next run. Called by the Celery task; no Celery here.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from agentplatform import stream_log
from runs.engine import doorbell, executor, leases, worker_loop
from runs.engine.executor import CancelReason, RunControl, RunSpec
from runs.engine.leases import Lease
from runs.engine.outcomes import Ending, Outcome
from runs.engine.webhooks import webhook_payload, webhook_send
from runs.models import Run
from runs.serializers import run_json

logger = logging.getLogger(__name__)

# How often a running run's row is polled for a cancel request (a cancel reaches the graph within a second).
CANCEL_POLL_SECS = 0.5


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_execute(*, run_id: uuid.UUID | str) -> None:
    """Handle one doorbell for `run_id`'s thread. Duplicate or stale doorbells claim nothing and return."""
    claimed = leases.run_claim(run_id=run_id, owner=_owner())
    if claimed is None:
        return
    run, lease = claimed
    logger.debug("run %s claimed (attempt %s)", run.run_id, run.attempt)
    if run.attempt > settings.BG_JOB_MAX_RETRIES:
        _fail_too_many_attempts(run, lease)
        return
    spec = RunSpec(run.run_id, run.thread_id, run.assistant_id, run.attempt, run.kwargs, run.temporary)
    control = RunControl()
    future = worker_loop.submit(executor.execute(spec, control))
    try:
        outcome = _supervise(lease, future, control)
    except Exception as exc:  # a bug, not a graph error (execute() reports those): still end the run cleanly
        logger.exception("run %s: the executor failed", run.run_id)
        error = executor.error_payload(exc)
        outcome = Outcome(Ending.ERROR, result={"__error__": error}, error=error)
    _conclude(run, lease, outcome)


def _fail_too_many_attempts(run: Run, lease: Lease) -> None:
    error = leases.lease_fail_exhausted(lease, attempt=run.attempt - 1, temporary=run.temporary)
    if error is not None:
        stream_log.finish_sync(run.run_id, Run.Status.ERROR, {"__error__": error}, error=error)
        _ring_next(lease.thread_id)


def _supervise(lease: Lease, future: concurrent.futures.Future, control: RunControl) -> Outcome:
    """Wait for the attempt, renewing the lease every BG_JOB_HEARTBEAT/4 and polling for cancel requests."""
    interval = settings.BG_JOB_HEARTBEAT / 4
    next_renewal = time.monotonic() + interval
    last_confirmed = time.monotonic()
    while True:
        try:
            return future.result(timeout=CANCEL_POLL_SECS)
        except concurrent.futures.TimeoutError:
            pass
        now = time.monotonic()
        try:
            if now >= next_renewal:
                held, action = leases.lease_renew(lease)
                next_renewal = now + interval
            else:
                held, action = leases.lease_cancel_action(lease)
        except DatabaseError:
            logger.warning("lease check failed for run %s", lease.run_id, exc_info=True)
            close_old_connections()
            held, action = True, None
            if now - last_confirmed > settings.BG_JOB_HEARTBEAT * 0.75:
                held = False  # the lease may expire unseen: stop before the sweeper hands the run to another
        else:
            last_confirmed = now if held else last_confirmed
        _signal(control, held, action)


def _signal(control: RunControl, held: bool, action: str | None) -> None:
    if not held:
        control.cancel(CancelReason.LEASE_LOST)
    elif action:
        control.cancel(CancelReason(action))
    grace = worker_loop.seconds_since_shutdown()
    if grace is not None and grace >= settings.BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS:
        control.cancel(CancelReason.SHUTDOWN)


def _conclude(run: Run, lease: Lease, outcome: Outcome) -> None:
    if outcome.status is Ending.LEASE_LOST:
        logger.warning("run %s: lease lost, another attempt owns it now", run.run_id)
        return
    if outcome.status is Ending.RELEASE:
        if _retrying_db(leases.lease_release, lease):
            logger.info("run %s released, it will be retried", run.run_id)
            doorbell.ring(run.run_id)
        return
    if not _retrying_db(leases.lease_finish, lease, outcome, temporary=run.temporary):
        logger.warning("run %s: lease lost before its end was written", run.run_id)
        return
    done_status = Run.Status.INTERRUPTED if outcome.status is Ending.ROLLBACK else Run.Status(outcome.status)
    stream_log.finish_sync(run.run_id, done_status, outcome.result)
    logger.info("run %s ended: %s (attempt %s)", run.run_id, outcome.status, run.attempt)
    _send_webhook(run, outcome)
    if not run.temporary:  # a temporary thread is gone, and had no other runs
        _ring_next(lease.thread_id)


def _retrying_db(write, *args: Any, **kwargs: Any) -> Any:
    """A run's last write survives a short database outage (restart, failover); past that the lease expires and
    the sweeper takes over."""
    delay = 0.5
    deadline = time.monotonic() + settings.BG_JOB_HEARTBEAT
    while True:
        try:
            return write(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("database unavailable while ending a run, retrying in %.1fs", delay)
            close_old_connections()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _send_webhook(run: Run, outcome: Outcome) -> None:
    url = (run.kwargs or {}).get("webhook")
    if not url or outcome.status is Ending.ROLLBACK:
        return
    run.status = Run.Status(outcome.status)
    run.ended_at = run.updated_at = timezone.now()
    payload = webhook_payload(
        run_json(run), values=outcome.values, error=outcome.error, started_at=run.started_at, ended_at=run.ended_at
    )
    webhook_send(url, payload)


def _ring_next(thread_id: uuid.UUID) -> None:
    next_run = leases.next_pending_run_id(thread_id=thread_id)
    if next_run is not None:
        doorbell.ring(next_run)
