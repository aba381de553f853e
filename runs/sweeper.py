"""The sweeper (Celery beat, every BG_JOB_HEARTBEAT/2): recovers runs whose worker or doorbell was lost.

1. A running run whose lease expired (its worker died or lost the database) goes back to pending and is rung
   again; the next claim resumes it from its last checkpoint. Past BG_JOB_MAX_RETRIES attempts it fails instead.
   A grace of BG_JOB_HEARTBEAT/2 after expiry lets a worker that is alive but cut off notice its lost lease (it
   renews every BG_JOB_HEARTBEAT/4) and stop its graph before another attempt starts.
2. The oldest available pending run of a thread with nothing running, whose doorbell was sent more than
   PENDING_RUN_RESEND_SECS ago, is rung again (lost Celery message, Redis restart, delayed run now due).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agentplatform import stream_log
from runs import doorbell, leases
from runs.models import Run

logger = logging.getLogger(__name__)
RUNS = Run._meta.db_table
BATCH = 1000

_RESEND_PENDING_SQL = f"""
UPDATE {RUNS} SET enqueued_at = now()
 WHERE run_id IN (
    SELECT DISTINCT ON (r.thread_id) r.run_id FROM {RUNS} r
     WHERE r.status = 'pending' AND r.available_at <= now()
       AND NOT EXISTS (SELECT 1 FROM {RUNS} x WHERE x.thread_id = r.thread_id AND x.status = 'running')
     ORDER BY r.thread_id, r.created_at, r.run_id
     LIMIT {BATCH})
   AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => %s))
RETURNING run_id
"""


def _expired() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id, thread_id, lease_token, attempt, temporary FROM {RUNS}"
            f" WHERE status = 'running' AND lease_expires_at < now() - make_interval(secs => %s) LIMIT {BATCH}",
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


def _resend_pending() -> list:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RESEND_PENDING_SQL, [settings.PENDING_RUN_RESEND_SECS])
        return [row[0] for row in cursor.fetchall()]


def run_sweep() -> dict[str, int]:
    """One sweep; returns how many expired runs were recovered and how many pending runs were re-rung."""
    recovered = _recover_expired()
    resent = _resend_pending()
    for run_id in resent:
        doorbell.ring(run_id)
    if resent:
        logger.info("re-rang %d pending runs", len(resent))
    return {"requeued": recovered, "resent": len(resent)}
