"""Claim, lease and fence (design.md invariants 1-3): how a worker takes a run and every write it makes after.

A claim is one statement that locks the thread row, checks no run of the thread is running and turns the
thread's oldest available pending run into `running` with a fresh lease token. The partial unique index on
running runs is the safety net. Every later write of the worker is conditioned on that token (and on the run
still being `running`), so a worker whose lease was taken away writes nothing. Times are the database clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agentplatform import rows, serde
from agentplatform.persistence import WriteFence
from runs.engine.checkpoints import checkpoints_delete_for_run
from runs.engine.outcomes import Ending, Outcome
from runs.models import Run
from threads.models import Thread
from threads.services import thread_refresh_from_state

RUNS = Run._meta.db_table
THREADS = Thread._meta.db_table


@dataclass(frozen=True)
class Lease:
    run_id: uuid.UUID
    thread_id: uuid.UUID
    token: uuid.UUID


def _lock_thread(thread_id: uuid.UUID) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {THREADS} WHERE thread_id = %s FOR UPDATE", [thread_id])
        return cursor.fetchone() is not None


# One statement, so one round trip and no transaction around it: lock the thread of `run_id`, then turn its oldest
# available pending run into `running` unless one is running already. The statement's snapshot is taken before
# it waits for the lock, so a run claimed, ended or cancelled meanwhile by the lock's holder may still look
# pending or running to it: the UPDATE re-checks `status = 'pending'` on the run's current row (then claims
# nothing: the holder rings for the thread's next run when it ends), and the unique index on running runs stays
# the safety net.
_CLAIM_SQL = f"""
WITH locked AS (
    SELECT t.thread_id FROM {THREADS} t JOIN {RUNS} r ON r.thread_id = t.thread_id
     WHERE r.run_id = %(run)s FOR UPDATE OF t
), next AS (
    SELECT r.run_id FROM {RUNS} r JOIN locked ON r.thread_id = locked.thread_id
     WHERE r.status = 'pending' AND r.available_at <= now()
       AND NOT EXISTS (SELECT 1 FROM {RUNS} x WHERE x.thread_id = locked.thread_id AND x.status = 'running')
     ORDER BY r.created_at, r.run_id LIMIT 1
)
UPDATE {RUNS} SET status = 'running', attempt = attempt + 1, lease_token = %(token)s, lease_owner = %(owner)s,
       lease_expires_at = now() + make_interval(secs => %(ttl)s), started_at = coalesce(started_at, now()),
       updated_at = now()
  FROM next
 WHERE {RUNS}.run_id = next.run_id AND {RUNS}.status = 'pending'
RETURNING {rows.columns(Run, RUNS)}
"""


def run_claim(*, run_id: uuid.UUID | str, owner: str) -> tuple[Run, Lease] | None:
    """Claim the oldest available pending run of `run_id`'s thread (FIFO: maybe another run), or None."""
    token = uuid.uuid4()
    params = {"run": run_id, "token": token, "owner": owner, "ttl": settings.BG_JOB_HEARTBEAT}
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, params)
            row = cursor.fetchone()
    except IntegrityError:
        return None  # another worker's claim on this thread won the race (unique index on running runs)
    if row is None:
        return None  # nothing to claim: the run is gone, not pending, or its thread has a running run
    run = rows.from_row(Run, row)
    return run, Lease(run.run_id, run.thread_id, token)


_RENEW_SQL = f"""
UPDATE {RUNS} SET lease_expires_at = now() + make_interval(secs => %(ttl)s)
 WHERE run_id = %(run)s AND lease_token = %(token)s AND status = 'running' AND lease_expires_at > now()
RETURNING cancel_action
"""


def lease_renew(lease: Lease) -> tuple[bool, str | None]:
    """Extend the lease; (False, None) once it is lost: an expired lease is never revived."""
    with connection.cursor() as cursor:
        cursor.execute(_RENEW_SQL, {"ttl": settings.BG_JOB_HEARTBEAT, "run": lease.run_id, "token": lease.token})
        row = cursor.fetchone()
    return (False, None) if row is None else (True, row[0])


def lease_cancel_action(lease: Lease) -> tuple[bool, str | None]:
    """(still ours, requested cancel action), read without writing anything."""
    row = Run.objects.filter(run_id=lease.run_id).values_list("lease_token", "status", "cancel_action").first()
    if row is None or row[0] != lease.token or row[1] != Run.Status.RUNNING:
        return False, None
    return True, row[2]


# 1/0 when the lease is gone: the error skips the COMMIT sent in the same message (agentplatform.persistence).
_CHECKPOINT_FENCE_SQL = """
SELECT 1 / count(*) FROM (
    SELECT 1 FROM {runs} WHERE run_id = '{run}'::uuid AND lease_token = '{token}'::uuid AND status = 'running'
    FOR SHARE) AS held
"""


def checkpoint_fence(lease: Lease) -> WriteFence:
    """What the attempt's checkpoint writes check, last in their own transaction: the run is still running on
    this lease. FOR SHARE makes a takeover (requeue, finish, thread delete) wait for a write that passed the
    check, so a write either commits before the takeover or is refused. Postgres ends a write transaction idle
    for longer than a blocked loop may last."""
    # The ids are inlined (the fence and COMMIT are one simple query); as UUIDs they cannot carry SQL.
    run, token = uuid.UUID(str(lease.run_id)), uuid.UUID(str(lease.token))
    sql = _CHECKPOINT_FENCE_SQL.format(runs=RUNS, run=run, token=token)
    return WriteFence(sql, idle_timeout_ms=int(settings.BG_JOB_LOOP_BLOCKED_SECS * 1000))


def _fenced(lease: Lease):
    return Run.objects.filter(run_id=lease.run_id, lease_token=lease.token, status=Run.Status.RUNNING)


def lease_release(lease: Lease) -> bool:
    """Give the run back (shutdown, infrastructure failure): pending again, resumed later from its checkpoint."""
    return bool(
        _fenced(lease).update(
            status=Run.Status.PENDING,
            lease_token=None,
            lease_owner=None,
            lease_expires_at=None,
            enqueued_at=timezone.now(),
            updated_at=timezone.now(),
        )
    )


def lease_finish(lease: Lease, ending: Outcome, *, temporary: bool) -> bool:
    """Write the run's terminal status and its thread's state in one transaction; False if the lease is gone."""
    if temporary:
        return _delete_temporary_thread(lease)
    with transaction.atomic():
        _lock_thread(lease.thread_id)
        if not _write_run_end(lease, ending):
            return False
        _write_thread_end(lease.thread_id, ending)
    return True


# A temporary run's ending deletes it with its thread, whatever the ending (it has no checkpoints), in one
# statement: the /runs/wait hot path. Fenced like every write: nothing is deleted unless the run is still running
# on this lease, which the DELETE re-checks on the run's current row after waiting for the thread's lock.
# Plain SQL: the ORM's cascade would collect every related row first.
_DELETE_TEMPORARY_SQL = f"""
WITH locked AS (
    SELECT thread_id FROM {THREADS} WHERE thread_id = %(thread)s FOR UPDATE
), ours AS (
    DELETE FROM {RUNS} WHERE run_id = %(run)s AND lease_token = %(token)s AND status = 'running'
       AND thread_id IN (SELECT thread_id FROM locked)
    RETURNING thread_id
), others AS (
    DELETE FROM {RUNS} WHERE thread_id IN (SELECT thread_id FROM ours) AND run_id <> %(run)s
)
DELETE FROM {THREADS} WHERE thread_id IN (SELECT thread_id FROM ours)
"""


def _delete_temporary_thread(lease: Lease) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_DELETE_TEMPORARY_SQL, {"thread": lease.thread_id, "run": lease.run_id, "token": lease.token})
        return cursor.rowcount > 0


def _write_run_end(lease: Lease, ending: Outcome) -> bool:
    if ending.status is Ending.ROLLBACK:
        # Locked, so a requeue cannot slip between the check and the delete.
        if _fenced(lease).select_for_update().values_list("run_id").first() is None:
            return False
        checkpoints_delete_for_run(thread_id=lease.thread_id, run_id=lease.run_id)
        Run.objects.filter(run_id=lease.run_id).delete()
        return True
    now = timezone.now()
    updated = _fenced(lease).update(
        status=Run.Status(ending.status),
        output=serde.to_jsonable(ending.result),
        error=ending.error,
        ended_at=now,
        updated_at=now,
        lease_token=None,
        lease_expires_at=None,
    )
    return bool(updated)


def _write_thread_end(thread_id: uuid.UUID, ending: Outcome) -> None:
    """api-surface §2.4: error / interrupted (checkpoint has next) / idle, overridden by busy."""
    busy = Run.objects.filter(thread_id=thread_id, status__in=Run.IN_FLIGHT).exists()
    failed = ending.status in (Ending.ERROR, Ending.TIMEOUT)
    base = Thread.Status.ERROR if failed else (Thread.Status.INTERRUPTED if ending.has_next else Thread.Status.IDLE)
    status = Thread.Status.BUSY if busy else base
    if ending.state_read:
        thread_refresh_from_state(
            thread_id=thread_id,
            values=ending.values,
            interrupts=ending.interrupts or {},
            status=status,
            error=ending.error if failed else None,
        )
    else:
        Thread.objects.filter(thread_id=thread_id).update(
            status=status, error=ending.error if failed else None, updated_at=timezone.now()
        )


def lease_fail_exhausted(lease: Lease, *, attempt: int, temporary: bool) -> dict | None:
    """End a run as error because its workers kept dying (BG_JOB_MAX_RETRIES). Returns the error, or None."""
    message = (
        f"Run {lease.run_id} exceeded max attempts ({settings.BG_JOB_MAX_RETRIES}): its worker stopped without "
        f"finishing it {attempt} times. Check for OOM kills, worker restarts, or graphs that block the event loop."
    )
    error = {"error": "RuntimeError", "message": message}
    finished = lease_finish(lease, Outcome(Ending.ERROR, result={"__error__": error}, error=error), temporary=temporary)
    return error if finished else None


def next_pending_run_id(*, thread_id: uuid.UUID) -> uuid.UUID | None:
    """The run a worker should ring for after finishing one on this thread (FIFO). Only an available one: a
    delayed run not yet due is rung by the sweeper when it is."""
    run_id = (
        Run.objects.filter(thread_id=thread_id, status=Run.Status.PENDING, available_at__lte=timezone.now())
        .order_by("created_at", "run_id")
        .values_list("run_id", flat=True)
        .first()
    )
    if run_id is not None:
        Run.objects.filter(run_id=run_id).update(enqueued_at=timezone.now())
    return run_id
