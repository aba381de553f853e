"""The sweeper (Celery beat, every BG_JOB_HEARTBEAT/2): recovers runs whose worker or doorbell was lost.

1. A running run whose lease expired (its worker died or lost the database) goes back to pending and is
   rung again; the next claim resumes it from its last checkpoint, or fails it past BG_JOB_MAX_RETRIES.
2. The oldest available pending run of a thread with nothing running, whose doorbell was sent more than
   PENDING_RUN_RESEND_SECS ago, is rung again (lost Celery message, Redis restart, delayed run now due).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction

from runs import doorbell
from runs.models import Run

logger = logging.getLogger(__name__)
RUNS = Run._meta.db_table
BATCH = 1000

_REQUEUE_EXPIRED_SQL = f"""
UPDATE {RUNS} SET status = 'pending', lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL,
       enqueued_at = now(), updated_at = now()
 WHERE run_id IN (SELECT run_id FROM {RUNS} WHERE status = 'running' AND lease_expires_at < now()
                  LIMIT {BATCH} FOR UPDATE SKIP LOCKED)
RETURNING run_id
"""

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


def _ids(sql: str, params: list) -> list:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def run_sweep() -> dict[str, int]:
    """One sweep; returns how many runs were re-queued and re-rung."""
    expired = _ids(_REQUEUE_EXPIRED_SQL, [])
    for run_id in expired:
        logger.warning("run %s: lease expired, re-queued", run_id)
        doorbell.ring(run_id)
    resent = _ids(_RESEND_PENDING_SQL, [settings.PENDING_RUN_RESEND_SECS])
    for run_id in resent:
        doorbell.ring(run_id)
    if resent:
        logger.info("re-rang %d pending runs", len(resent))
    return {"requeued": len(expired), "resent": len(resent)}
