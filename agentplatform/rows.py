"""Model instances from hand-written SQL, for the hot paths (a run's claim, the assistant of every run create).

The ORM compiles each query anew, and `Manager.raw` maps columns by name for every row: for a one-row lookup
either costs several times the statement itself. Here the statement lists the model's columns in field order
(`columns`) and each row becomes an instance the way the ORM would build it (`from_row`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@functools.cache
def _layout(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    fields = model._meta.concrete_fields
    json_fields = tuple(index for index, field in enumerate(fields) if isinstance(field, models.JSONField))
    return tuple(field.attname for field in fields), json_fields


def columns(model: type[models.Model], table: str | None = None) -> str:
    """The model's columns in field order (qualified by `table` when given), for a SELECT or RETURNING list."""
    prefix = f"{table}." if table else ""
    return ", ".join(f"{prefix}{field.column}" for field in model._meta.concrete_fields)


def from_row(model: type[M], row: Sequence) -> M:
    """An instance from a row of `columns(model)`, as loaded from the database."""
    names, json_fields = _layout(model)
    values = list(row)
    for index in json_fields:  # Django has psycopg hand JSON columns over as text (its JSONField decodes them)
        if isinstance(values[index], str):
            values[index] = json.loads(values[index])
    return model.from_db(connection.alias, names, values)


def fetch_after_lock(lock_sql: str, sql: str, params: Mapping) -> tuple | None:
    """`sql`'s first row, run after `lock_sql` (a `FOR UPDATE`) in a transaction of their own, sent as one message
    (`BEGIN; lock; sql; COMMIT`: one round trip). Call it with no transaction open. The lock is a statement of its
    own because a statement's snapshot predates its lock wait: `sql` then sees everything committed by whoever
    held the lock before."""
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"BEGIN; {lock_sql}; {sql}; COMMIT", params)
            cursor.nextset()  # the lock's rows: `sql` checks whatever it needs itself
            cursor.nextset()
            return cursor.fetchone()
        except BaseException:
            _rollback(cursor)
            raise


def _rollback(cursor) -> None:
    try:
        cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - a broken connection: Django discards it before its next use
        pass
