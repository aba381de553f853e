"""LangGraph's Postgres checkpointer (and store) wired to our database, one pool per process or event loop.

Pools are opened lazily: never at import time and never shared across fork. The API uses the synchronous saver
for state reads and writes; workers use the asynchronous one on their run loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

# prepare_threshold=None keeps the pools usable behind pgbouncer in transaction mode.
_CONN_KWARGS = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": None}


def database_conninfo(alias: str = "default") -> str:
    """The libpq conninfo of a Django database (so tests using a test database get the same one)."""
    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


class _SyncState:
    lock = threading.Lock()
    pool: ConnectionPool | None = None
    saver: PostgresSaver | None = None


def sync_checkpointer() -> PostgresSaver:
    if _SyncState.saver is None:
        with _SyncState.lock:
            if _SyncState.saver is None:
                pool = ConnectionPool(
                    database_conninfo(),
                    kwargs=_CONN_KWARGS,
                    min_size=1,
                    max_size=settings.CHECKPOINTER_POOL_MAX,
                    open=True,
                    check=ConnectionPool.check_connection,
                    name="checkpointer-sync",
                )
                _SyncState.pool = pool
                _SyncState.saver = PostgresSaver(pool)
    return _SyncState.saver


_async_savers: dict[int, tuple[AsyncConnectionPool, AsyncPostgresSaver]] = {}


async def async_checkpointer() -> AsyncPostgresSaver:
    """The saver bound to the running event loop (one pool per loop, opened on first use)."""
    key = id(asyncio.get_running_loop())
    found = _async_savers.get(key)
    if found is None:
        pool = AsyncConnectionPool(
            database_conninfo(),
            kwargs=_CONN_KWARGS,
            min_size=1,
            max_size=settings.CHECKPOINTER_POOL_MAX,
            open=False,
            check=AsyncConnectionPool.check_connection,
            name="checkpointer-async",
        )
        await pool.open()
        found = _async_savers.setdefault(key, (pool, AsyncPostgresSaver(pool)))
        if found[0] is not pool:
            await pool.close()
    return found[1]


async def close_async_checkpointer() -> None:
    found = _async_savers.pop(id(asyncio.get_running_loop()), None)
    if found is not None:
        await found[0].close()


def setup_checkpointer_tables(conninfo: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (idempotent; needs autocommit for CONCURRENTLY)."""
    with psycopg.connect(conninfo, **_CONN_KWARGS) as conn:
        PostgresSaver(conn).setup()


def store_for_sync() -> Any:
    """The store handed to graphs and the Store API; configured in a later step (None until then)."""
    return None


async def store_for_async() -> Any:
    return None
