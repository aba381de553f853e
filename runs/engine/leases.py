"""Claim, lease and fence (design.md invariants 1-3): how a worker takes a run and every write it makes after.

A claim is one statement that locks the thread row, checks no run of the thread is running and turns the
thread's oldest available pending run into `running` with a fresh lease token. The partial unique index on
running runs is the safety net. Every later write of the worker is conditioned on that token (and on the run
still being `running`), so a worker whose lease was taken away writes nothing. Times are the database clock.
"""

from __future__ import annotations

import json
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
from threads.state import jsonb_safe

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


@dataclass(frozen=True)
class Finished:
    """A run's ending, written: the thread's next run to ring for (the oldest due pending one), if any."""

    next_run_id: uuid.UUID | None = None


def lease_finish(lease: Lease, ending: Outcome, *, temporary: bool) -> Finished | None:
    """Write the run's terminal status and its thread's state in one transaction, and pick the thread's next run
    to ring for; None if the lease is gone."""
    if temporary:
        return Finished() if _delete_temporary_thread(lease) else None
    params = _ending_params(lease, ending)
    if ending.status is Ending.ROLLBACK:
        return _finish_rollback(lease, params, _thread_end_sql(_ENDED_BY_ROLLBACK, ending.state_read))
    row = _locked_statement(_thread_end_sql(_ENDED_BY_UPDATE, ending.state_read), params)
    return Finished(row[1]) if row[0] else None


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


_LOCK_SQL = f"SELECT 1 FROM {THREADS} WHERE thread_id = %(thread)s FOR UPDATE"

# A run's ending after its thread's lock, as one statement (the lock is its own statement before it: a
# statement's snapshot predates its lock wait, and this one must see every run committed by the lock's previous
# holder). `ended` is the thread when the run's end was written: the fenced UPDATE, or the rollback's check done
# before. A CTE does not see the other CTEs' writes, so the in-flight check excludes the run itself. The thread is
# busy when another run is in flight, else error / interrupted / idle (api-surface §2.4); `next` is the run to
# ring for, an available one only (a delayed run not yet due is rung by the sweeper when it is).
_ENDED_BY_UPDATE = f"""
    UPDATE {RUNS} SET status = %(status)s, output = %(output)s::jsonb, error = %(error)s::jsonb,
           ended_at = %(now)s, updated_at = %(now)s, lease_token = NULL, lease_expires_at = NULL
     WHERE run_id = %(run)s AND lease_token = %(token)s AND status = 'running'
    RETURNING thread_id"""
_ENDED_BY_ROLLBACK = "SELECT %(thread)s::uuid AS thread_id"
_THREAD_END_SQL = f"""
WITH ended AS ({{ended}}
), busy AS (
    SELECT EXISTS (SELECT 1 FROM {RUNS} WHERE thread_id = %(thread)s AND status IN ('pending', 'running')
                                              AND run_id <> %(run)s) AS busy
), thread AS (
    UPDATE {THREADS} SET status = CASE WHEN busy.busy THEN 'busy' ELSE %(thread_status)s END,
           error = %(thread_error)s::jsonb, updated_at = %(now)s{{state}}
      FROM busy WHERE thread_id IN (SELECT thread_id FROM ended)
), next AS (
    SELECT run_id FROM {RUNS} WHERE thread_id IN (SELECT thread_id FROM ended) AND status = 'pending'
       AND available_at <= %(now)s
     ORDER BY created_at, run_id LIMIT 1
), rung AS (
    UPDATE {RUNS} SET enqueued_at = %(now)s WHERE run_id IN (SELECT run_id FROM next)
)
SELECT (SELECT count(*) FROM ended), (SELECT run_id FROM next)
"""
# The thread's values and interrupts, when the attempt read its state (thread_refresh_from_state's columns).
_STATE_COLUMNS = ', "values" = %(values)s::jsonb, interrupts = %(interrupts)s::jsonb, state_updated_at = %(now)s'


def _thread_end_sql(ended: str, state_read: bool) -> str:
    return _THREAD_END_SQL.format(ended=ended, state=_STATE_COLUMNS if state_read else "")


def _ending_params(lease: Lease, ending: Outcome) -> dict:
    failed = ending.status in (Ending.ERROR, Ending.TIMEOUT)
    base = Thread.Status.ERROR if failed else (Thread.Status.INTERRUPTED if ending.has_next else Thread.Status.IDLE)
    # The thread's jsonb columns refuse U+0000, which graph state may hold.
    values, interrupts, thread_error = (
        jsonb_safe(value) for value in (ending.values, ending.interrupts or {}, ending.error if failed else None)
    )
    status = Run.Status.INTERRUPTED if ending.status is Ending.ROLLBACK else Run.Status(ending.status)
    return {
        "run": lease.run_id,
        "thread": lease.thread_id,
        "token": lease.token,
        "now": timezone.now(),
        "status": status.value,
        "output": _jsonb(serde.to_jsonable(ending.result)),
        "error": _jsonb(ending.error),
        "thread_status": base.value,
        "thread_error": _jsonb(thread_error),
        "values": _jsonb(values),
        "interrupts": _jsonb(interrupts),
    }


def _jsonb(value: object) -> str | None:
    # None is SQL NULL, as the ORM writes it; otherwise Django's JSONField encoding (json.dumps).
    return None if value is None else json.dumps(value)


def _locked_statement(sql: str, params: dict) -> tuple:
    """`sql`'s row, run after the thread's lock in one transaction: one message when no transaction is open."""
    if not connection.in_atomic_block:
        return rows.fetch_after_lock(_LOCK_SQL, sql, params)
    with connection.cursor() as cursor:  # a caller's transaction (batches, tests): it commits, not us
        cursor.execute(_LOCK_SQL, params)
        cursor.execute(sql, params)
        return cursor.fetchone()


def _finish_rollback(lease: Lease, params: dict, sql: str) -> Finished | None:
    """Delete the run and its checkpoints, then end the thread as any run's ending does."""
    with transaction.atomic():
        _lock_thread(lease.thread_id)
        # Locked, so a requeue cannot slip between the check and the delete.
        if _fenced(lease).select_for_update().values_list("run_id").first() is None:
            return None
        checkpoints_delete_for_run(thread_id=lease.thread_id, run_id=lease.run_id)
        Run.objects.filter(run_id=lease.run_id).delete()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return Finished(cursor.fetchone()[1])


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
