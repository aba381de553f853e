"""Removal of the LangGraph checkpoints one run wrote (rollback, run delete).

LangGraph copies `configurable.run_id` into every checkpoint's metadata, which identifies a run's checkpoints.
Blobs are left alone: they are shared by version across checkpoints and cost only space.
"""

from __future__ import annotations

from uuid import UUID

from django.db import connection

_DELETE_SQL = """
WITH gone AS (
    DELETE FROM checkpoints WHERE thread_id = %(thread)s AND metadata->>'run_id' = %(run)s
    RETURNING checkpoint_ns, checkpoint_id
)
DELETE FROM checkpoint_writes w USING gone
 WHERE w.thread_id = %(thread)s AND w.checkpoint_ns = gone.checkpoint_ns AND w.checkpoint_id = gone.checkpoint_id
"""


def checkpoints_delete_for_run(*, thread_id: UUID | str, run_id: UUID | str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_DELETE_SQL, {"thread": str(thread_id), "run": str(run_id)})
