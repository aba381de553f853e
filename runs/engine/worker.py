"""What a worker does for one doorbell: claim a run, execute it on the process loop while holding its lease,
write its ending (fenced), then ring for the thread's next run. Called by the Celery task; no Celery here.

The supervising thread (a Celery task thread) is outside the run's event loop, so it ends the attempt even when
the loop cannot: past BG_JOB_TIMEOUT_SECS (plus TIMEOUT_GRACE_SECS for the graph to stop by itself) it writes a
fenced `timeout` and abandons the attempt; when the watchdog abandoned the loop (runs.engine.worker_loop) it writes a
fenced `error` for the run that blocked it and gives the others back to be resumed on a fresh loop.
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
from agentplatform.telemetry import context as log_context
from agentplatform.telemetry.attempts import attempt_observed
from runs.engine import cancel_listener, doorbell, executor, leases, worker_loop
from runs.engine.executor import CancelReason, RunControl, RunSpec
from runs.engine.leases import Lease
from runs.engine.outcomes import Ending, Outcome
from runs.engine.webhooks import webhook_payload, webhook_send
from runs.engine.worker_loop import Blockage, RunLoop
from runs.models import Run
from runs.serializers import run_json

logger = logging.getLogger(__name__)

# How often a running run's row is polled for a cancel request: the fallback for a cancel message lost with Redis
# (runs.engine.cancel_listener delivers it in milliseconds), so a cancel reaches the graph within a second either way.
CANCEL_POLL_SECS = 0.5
# After BG_JOB_TIMEOUT_SECS the graph is cancelled; if its attempt has not ended this much later, it is abandoned.
TIMEOUT_GRACE_SECS = 5.0


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_execute(*, run_id: uuid.UUID | str) -> None:
    """Handle one doorbell for `run_id`'s thread. Duplicate or stale doorbells claim nothing and return."""
    claimed = leases.run_claim(run_id=run_id, owner=_owner())
    if claimed is None:
        return
    run, lease = claimed
    ids = {"run_id": run.run_id, "thread_id": run.thread_id, "assistant_id": run.assistant_id}
    fields = log_context.run_fields(**ids, attempt=run.attempt, kwargs=run.kwargs)
    with log_context.bound(**fields):  # this thread's lines; the attempt's task binds its own (attempt_observed)
        _execute_claimed(run, lease, fields)


def _execute_claimed(run: Run, lease: Lease, fields: dict) -> None:
    logger.debug("run %s claimed (attempt %s)", run.run_id, run.attempt)
    if run.attempt > settings.BG_JOB_MAX_RETRIES:
        _fail_too_many_attempts(run, lease)
        return
    fence = leases.checkpoint_fence(lease)
    spec = RunSpec(run.run_id, run.thread_id, run.assistant_id, run.attempt, run.kwargs, run.temporary, fence)
    control = RunControl()
    cancel_listener.watch(run.run_id, control)
    run_loop = worker_loop.current()
    attempt = attempt_observed(executor.execute(spec, control), fields=fields, kwargs=run.kwargs)
    future = run_loop.submit(attempt, run_id=run.run_id)
    try:
        outcome = _supervise(_Attempt(lease, future, control, run_loop))
    except Exception as exc:  # a bug, not a graph error (execute() reports those): still end the run cleanly
        logger.exception("run %s: the executor failed", run.run_id)
        error = executor.error_payload(exc)
        outcome = Outcome(Ending.ERROR, result={"__error__": error}, error=error)
    cancel_listener.unwatch(run.run_id)
    _conclude(run, lease, outcome)


def _fail_too_many_attempts(run: Run, lease: Lease) -> None:
    error = leases.lease_fail_exhausted(lease, attempt=run.attempt - 1, temporary=run.temporary)
    if error is not None:
        stream_log.finish_sync(run.run_id, Run.Status.ERROR, {"__error__": error}, error=error)
        _ring_next(lease.thread_id)


class _Attempt:
    """One attempt as its supervisor sees it: the lease, the future of its coroutine, and the loop it runs on."""

    def __init__(self, lease: Lease, future: concurrent.futures.Future, control: RunControl, loop: RunLoop) -> None:
        self.lease, self.future, self.control, self.loop = lease, future, control, loop
        self.deadline = time.monotonic() + settings.BG_JOB_TIMEOUT_SECS


class _LeaseCheck:
    """Renews the lease every BG_JOB_HEARTBEAT/4 and reads cancel requests in between."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.interval = settings.BG_JOB_HEARTBEAT / 4
        self.next_renewal = time.monotonic() + self.interval
        self.last_confirmed = time.monotonic()

    def check(self) -> tuple[bool, str | None]:
        """(still ours, requested cancel action)."""
        now = time.monotonic()
        renewing = now >= self.next_renewal
        try:
            if renewing:
                held, action = leases.lease_renew(self.lease)
                self.next_renewal = now + self.interval
            else:
                held, action = leases.lease_cancel_action(self.lease)
        except DatabaseError:
            logger.warning("lease check failed for run %s", self.lease.run_id, exc_info=True)
            close_old_connections()
            # The lease may expire unseen: stop before the sweeper hands the run to another. Measured now, after
            # the call: one that hung until the network gave up took much of the lease with it.
            return time.monotonic() - self.last_confirmed <= settings.BG_JOB_HEARTBEAT * 0.75, None
        # Only a renewal moves the lease's expiry: a cancel read that finds it still ours does not (counted as a
        # confirmation, it let a cut-off host outlive its lease, stopping after the takeover).
        if held and renewing:
            self.last_confirmed = now
        return held, action


def _supervise(attempt: _Attempt) -> Outcome:
    """Wait for the attempt while holding its lease, polling for cancel requests, the timeout and a blocked loop."""
    lease_check = _LeaseCheck(attempt.lease)
    while True:
        try:
            return attempt.future.result(timeout=CANCEL_POLL_SECS)
        except concurrent.futures.TimeoutError:
            pass
        ended = _ended_from_outside(attempt)
        if ended is not None:
            return ended
        held, action = lease_check.check()
        _signal(attempt.control, held, action)


def _ended_from_outside(attempt: _Attempt) -> Outcome | None:
    """The ending of an attempt its loop cannot end: the loop was abandoned, or the graph outlived its timeout."""
    if attempt.loop.abandoned.is_set():
        return _blocked_outcome(attempt.lease, attempt.loop.blockage)
    overdue = time.monotonic() - attempt.deadline
    if overdue >= 0:
        attempt.control.cancel(CancelReason.TIMEOUT)  # usually the executor's own timer got there first
    if overdue < TIMEOUT_GRACE_SECS:
        return None
    logger.error("run %s did not stop within %.0fs of its timeout: abandoned", attempt.lease.run_id, overdue)
    outcome = executor.timeout_outcome()
    outcome.abandoned = True
    return outcome


def _blocked_outcome(lease: Lease, blockage: Blockage | None) -> Outcome:
    """`error` for the run that blocked the loop; the loop's other runs are given back, to resume elsewhere."""
    if blockage is None or blockage.run_id != str(lease.run_id):
        logger.warning("run %s: its loop was blocked by another run, giving it back", lease.run_id)
        return Outcome(Ending.RELEASE)
    node = f"Node '{blockage.node}'" if blockage.node else "The graph"
    at = f" at {blockage.where}" if blockage.where else ""
    message = (
        f"{node} blocked the event loop for {blockage.seconds:.1f}s{at} (a synchronous call such as time.sleep, "
        "or CPU-bound work, in an async node), so the run was stopped. Use an async call, or run the blocking "
        "code in a thread: `await asyncio.to_thread(fn, ...)`."
    )
    error = {"error": "BlockingError", "message": message}
    return Outcome(Ending.ERROR, result={"__error__": error}, error=error, abandoned=True)


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
            stream_log.supersede_sync(run.run_id, run.attempt)  # in case the attempt lives on in an abandoned loop
            logger.info("run %s released, it will be retried", run.run_id)
            doorbell.ring(run.run_id)
        return
    finished = _retrying_db(leases.lease_finish, lease, outcome, temporary=run.temporary)
    if finished is None:
        logger.warning("run %s: lease lost before its end was written", run.run_id)
        return
    done_status = Run.Status.INTERRUPTED if outcome.status is Ending.ROLLBACK else Run.Status(outcome.status)
    # An abandoned attempt never logged its error event: it is written with the ending.
    stream_log.finish_sync(run.run_id, done_status, outcome.result, error=outcome.error if outcome.abandoned else None)
    logger.info("run %s ended: %s (attempt %s)", run.run_id, outcome.status, run.attempt)
    _send_webhook(run, outcome)
    if finished.next_run_id is not None:  # picked by the ending's own statement (a temporary thread has none)
        doorbell.ring(finished.next_run_id)


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
