"""The sweeper (Celery beat, every RUNS_SWEEP_SECS): recovers runs whose worker or doorbell was lost, and rings
delayed runs when due.

1. A running run whose lease expired (its worker died or lost the database) goes back to pending and is rung
   again; the next claim resumes it from its last checkpoint. Past BG_JOB_MAX_RETRIES attempts it fails instead.
   A grace of BG_JOB_HEARTBEAT/2 after expiry lets a worker that is alive but cut off notice its lost lease (it
   renews every BG_JOB_HEARTBEAT/4) and stop its graph before another attempt starts.
2. Runs never rung (a delayed run now due, `enqueued_at` still empty) are rung, every RUNS_DUE_SWEEP_SECS.
3. Runs whose doorbell went unanswered for PENDING_RUN_RESEND_SECS (lost Celery message, Redis restart) are rung
   again. Ringing resets that clock, so a run is rung at most once per PENDING_RUN_RESEND_SECS, and re-rings only
   top the Celery queue up to BACKLOG_MAX waiting messages: when workers are merely busy, their doorbells are
   still queued and more copies would only flood the queue.

For 2 and 3, one run per thread with nothing running (the claim takes the thread's oldest available run), the
oldest first, at most BATCH per sweep: every predicate is applied before the limit, so with thousands of waiting
threads none is starved by the ones ahead of it in some unrelated order. Every sweep is idempotent and reads only
Postgres, so a missed beat firing is made up by the next one, and two beats (or a replaced one) ring nothing twice:
the UPDATE re-checks its predicate on the row it locks.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agentplatform import stream_log
from runs.engine import doorbell, leases
from runs.models import Run

logger = logging.getLogger(__name__)
RUNS = Run._meta.db_table
BATCH = 500
BACKLOG_MAX = 2 * BATCH

# {wanted} is applied to the candidate rows before DISTINCT ON and LIMIT, and again to the locked row.
_RING_SQL = f"""
UPDATE {RUNS} SET enqueued_at = now()
 WHERE run_id IN (
    SELECT run_id FROM (
        SELECT DISTINCT ON (r.thread_id) r.run_id, r.available_at FROM {RUNS} r
         WHERE r.status = 'pending' AND r.available_at <= now() AND {{wanted}}
           AND NOT EXISTS (SELECT 1 FROM {RUNS} x WHERE x.thread_id = r.thread_id AND x.status = 'running')
         ORDER BY r.thread_id, r.available_at, r.run_id) AS heads
     ORDER BY available_at, run_id
     LIMIT %(limit)s)
   AND status = 'pending' AND {{wanted}}
RETURNING run_id
"""
_NEVER_RUNG = "enqueued_at IS NULL"
_UNANSWERED = "enqueued_at < now() - make_interval(secs => %(resend)s)"


def _expired() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id, thread_id, lease_token, attempt, temporary FROM {RUNS}"
            f" WHERE status = 'running' AND lease_expires_at < now() - make_interval(secs => %s)"
            f" ORDER BY lease_expires_at LIMIT {BATCH}",
            [settings.BG_JOB_HEARTBEAT / 2],
        )
        return cursor.fetchall()


def _requeue(lease: leases.Lease) -> bool:
    # Fenced on the expired token: a worker that renewed or finished meanwhile keeps its run.
    now = timezone.now()
    return bool(
        Run.objects.filter(run_id=lease.run_id, lease_token=lease.token, status=Run.Status.RUNNING).update(
            status=Run.Status.PENDING,
            lease_token=None,
            lease_owner=None,
            lease_expires_at=None,
            enqueued_at=now,
            updated_at=now,
        )
    )


def _fail(lease: leases.Lease, attempt: int, temporary: bool) -> bool:
    error = leases.lease_fail_exhausted(lease, attempt=attempt, temporary=temporary)
    if error is not None:
        stream_log.finish_sync(lease.run_id, Run.Status.ERROR, {"__error__": error}, error=error)
    return error is not None


def _recover_expired() -> int:
    recovered = 0
    for run_id, thread_id, token, attempt, temporary in _expired():
        lease = leases.Lease(run_id, thread_id, token)
        if attempt >= settings.BG_JOB_MAX_RETRIES:
            if _fail(lease, attempt, temporary):
                logger.error("run %s failed after %s attempts", run_id, attempt)
                recovered += 1
        elif _requeue(lease):
            stream_log.supersede_sync(run_id, attempt)  # the lost attempt's worker may be alive: refuse its events
            logger.warning("run %s: lease expired during attempt %s, re-queued", run_id, attempt)
            doorbell.ring(run_id)
            recovered += 1
    return recovered


def _ring(wanted: str, limit: int) -> int:
    if limit <= 0:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RING_SQL.format(wanted=wanted), {"limit": limit, "resend": settings.PENDING_RUN_RESEND_SECS})
        run_ids = [row[0] for row in cursor.fetchall()]
    for run_id in run_ids:
        doorbell.ring(run_id)
    return len(run_ids)


def run_ring_due() -> int:
    """Ring the runs never rung yet (delayed runs now due); how many."""
    rung = _ring(_NEVER_RUNG, BATCH)
    if rung:
        logger.info("rang %d delayed runs now due", rung)
    return rung


def _resend_unanswered() -> int:
    waiting = doorbell.waiting()
    # A broker that cannot say its queue length cannot take doorbells either: the next sweep re-rings.
    room = 0 if waiting is None else min(BATCH, BACKLOG_MAX - waiting)
    resent = _ring(_UNANSWERED, room)
    if resent:
        logger.info("re-rang %d pending runs whose doorbell went unanswered (%s waiting)", resent, waiting)
    return resent


def run_sweep() -> dict[str, int]:
    """One sweep; how many expired runs were recovered, due runs rung and unanswered runs re-rung."""
    recovered = _recover_expired()
    due = run_ring_due()
    return {"requeued": recovered, "due": due, "resent": _resend_unanswered()}
