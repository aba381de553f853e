"""The statements of a run create, hand-written: the hot path of every `POST …/runs` (runs.services.run_create
decides what to ask; this module only talks to Postgres).

A run on an existing thread takes two round trips when no transaction is open: the thread is read (no lock),
the run is built from it, then one message locks the thread, checks the multitask strategy, inserts the run,
marks the thread busy and commits. The lock and the check are separate statements of that message, because a
statement's snapshot predates its own lock wait: the check must see every run committed by whoever held the
lock before (design.md invariant 1; a concurrent `reject` or pending cap). The check also compares the thread's
metadata and config with those the run was built from; when another request changed them meanwhile, nothing is
inserted and the caller builds the run again under the lock (`locked_thread`). Inside an open transaction (a
batch, a cron, tests) the same statements run one by one in it. A stateless run's new thread and the run are one
statement.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from agentplatform import rows
from runs.models import Run
from threads.models import Thread

RUNS = Run._meta.db_table
THREADS = Thread._meta.db_table


@dataclass(frozen=True)
class ThreadRow:
    """What a run is built from: the thread's id, metadata and config."""

    thread_id: uuid.UUID
    metadata: dict
    config: dict


@dataclass(frozen=True)
class Check:
    """What the insert found under the thread's lock; `inserted` is False unless everything allowed it."""

    thread_found: bool
    unchanged: bool
    active: int  # in flight and not being cancelled (what `reject` refuses)
    pending: int  # what the pending cap counts
    inserted: bool


_READ_SQL = f"SELECT thread_id, metadata, config FROM {THREADS} WHERE thread_id = %(thread)s"
_LOCK_SQL = f"SELECT thread_id, metadata, config FROM {THREADS} WHERE thread_id = %(thread)s FOR UPDATE"

_RUN_COLUMNS = (
    "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, created_at, updated_at,"
    " available_at, attempt, enqueued_at, temporary"
)
_RUN_VALUES = (
    "%(run)s, %(thread)s, %(assistant)s, 'pending', %(metadata)s::jsonb, %(kwargs)s::jsonb, %(strategy)s,"
    " %(created)s, %(now)s, %(created)s, 0, %(enqueued)s, %(temporary)s"
)

# `allowed` per strategy: reject needs no active run, enqueue room under the cap; interrupt and rollback have
# cancelled what was in flight already (in the same transaction).
_INSERT_SQL = f"""
WITH thread AS (
    SELECT thread_id, metadata = %(seen_metadata)s::jsonb AND config = %(seen_config)s::jsonb AS unchanged
      FROM {THREADS} WHERE thread_id = %(thread)s
), queue AS (
    SELECT count(*) FILTER (WHERE cancel_action IS NULL) AS active,
           count(*) FILTER (WHERE status = 'pending') AS pending
      FROM {RUNS} WHERE thread_id = %(thread)s AND status IN ('pending', 'running')
), allowed AS (
    SELECT thread.thread_id FROM thread, queue
     WHERE thread.unchanged AND CASE %(strategy)s WHEN 'reject' THEN queue.active = 0
                                                  WHEN 'enqueue' THEN queue.pending < %(cap)s ELSE true END
), run AS (
    INSERT INTO {RUNS} ({_RUN_COLUMNS}) SELECT {_RUN_VALUES} FROM allowed RETURNING thread_id
), busy AS (
    UPDATE {THREADS} SET metadata = %(thread_metadata)s::jsonb, status = 'busy', updated_at = %(now)s
     WHERE thread_id IN (SELECT thread_id FROM run)
)
SELECT (SELECT count(*) FROM thread), coalesce((SELECT bool_and(unchanged) FROM thread), false), queue.active,
       queue.pending, (SELECT count(*) FROM run)
  FROM queue
"""

_INSERT_WITH_THREAD_SQL = f"""
WITH thread AS (
    INSERT INTO {THREADS} (thread_id, created_at, updated_at, state_updated_at, metadata, status, config, values,
                           interrupts)
    VALUES (%(thread)s, %(now)s, %(now)s, %(now)s, %(thread_metadata)s::jsonb, 'busy', '{{}}', NULL, '{{}}')
    RETURNING thread_id
)
INSERT INTO {RUNS} ({_RUN_COLUMNS}) SELECT {_RUN_VALUES} FROM thread
"""


def thread_read(thread_id: uuid.UUID) -> ThreadRow | None:
    """The thread as it is now, unlocked (the insert re-checks it under the lock)."""
    return _thread_row(_READ_SQL, thread_id)


def thread_lock(thread_id: uuid.UUID) -> ThreadRow | None:
    """The thread, locked until the open transaction ends."""
    return _thread_row(_LOCK_SQL, thread_id)


def _thread_row(sql: str, thread_id: uuid.UUID) -> ThreadRow | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"thread": thread_id})
        row = cursor.fetchone()
    # Django has psycopg hand JSON columns over as text (its JSONField decodes them).
    return None if row is None else ThreadRow(row[0], _json(row[1]), _json(row[2]))


def _json(value: str | dict) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def run_params(run: Run, *, seen: ThreadRow | None, thread_metadata: dict, now: datetime, cap: int) -> dict:
    """The statements' parameters for inserting `run` (built, not saved) and marking its thread busy."""
    return {
        "run": run.run_id,
        "thread": run.thread_id,
        "assistant": run.assistant_id,
        "metadata": json.dumps(run.metadata),
        "kwargs": json.dumps(run.kwargs),
        "strategy": run.multitask_strategy,
        "created": run.created_at,
        "now": now,
        "enqueued": run.enqueued_at,
        "temporary": run.temporary,
        "thread_metadata": json.dumps(thread_metadata),
        "seen_metadata": json.dumps(seen.metadata) if seen is not None else None,
        "seen_config": json.dumps(seen.config) if seen is not None else None,
        "cap": cap,
    }


def run_insert_checked(params: dict, *, in_transaction: bool) -> Check:
    """Insert the run if its thread and strategy allow it. Outside a transaction the thread is locked and the
    result committed in the same message; inside one, the caller has locked the thread already."""
    if in_transaction:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_SQL, params)
            row = cursor.fetchone()
    else:
        row = rows.fetch_after_lock(_LOCK_SQL, _INSERT_SQL, params)
    return Check(row[0] > 0, row[1], row[2], row[3], row[4] > 0)


def run_insert_with_thread(params: dict) -> None:
    """Insert a new thread (busy) and its run, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_WITH_THREAD_SQL, params)
