"""LangGraph's Postgres checkpointer wired to our database, and the connection pools it shares with the store.

Pools are opened lazily (agentplatform.lazy): never at import time and never shared across fork. The API uses
the synchronous saver for state reads and writes; workers use the asynchronous one on their run loop.

A worker's checkpoint writes are fenced (design.md invariant 2): while a `WriteFence` is set for the running
attempt (`fence_checkpoint_writes`), each write runs in one transaction that ends with the fence's query, which
fails once the attempt no longer owns its run (and otherwise locks the run's row until the commit). A worker
that lost its lease (paused, cut off, stalled) thus cannot fork the thread's checkpoints after another attempt
took over: its write raises StaleAttemptError.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from agentplatform.errors import StaleAttemptError
from agentplatform.lazy import PerLoop, PerProcess

# prepare_threshold=None keeps the pools usable behind pgbouncer in transaction mode.
CONN_KWARGS = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": None}


def database_conninfo(alias: str = "default") -> str:
    """The libpq conninfo of a Django database (so tests using a test database get the same one)."""
    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


# psycopg_pool's check costs every checkout a round trip (the checkpointer takes a connection for each of its
# operations: eight a run). A connection that passed it this recently is handed out as it is; one idle longer
# (e.g. across a PostgreSQL restart) is still checked, and a broken one replaced, before it is used.
CHECK_AFTER_IDLE_SECS = 2.0


class _RecentCheck:
    """The pools' `check`: psycopg_pool's own, at most once per CHECK_AFTER_IDLE_SECS per connection."""

    def __init__(self) -> None:
        self.checked_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _due(self, conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
        return time.monotonic() - self.checked_at.get(conn, float("-inf")) >= CHECK_AFTER_IDLE_SECS

    def sync(self, conn: psycopg.Connection) -> None:
        if self._due(conn):
            ConnectionPool.check_connection(conn)
            self.checked_at[conn] = time.monotonic()

    async def asynchronous(self, conn: psycopg.AsyncConnection) -> None:
        if self._due(conn):
            await AsyncConnectionPool.check_connection(conn)
            self.checked_at[conn] = time.monotonic()


def sync_pool(name: str) -> ConnectionPool:
    return ConnectionPool(
        database_conninfo(),
        kwargs=CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=True,
        check=_RecentCheck().sync,
        name=name,
    )


async def async_pool(name: str) -> AsyncConnectionPool:
    """A pool opened on the running loop (psycopg binds async pools to the loop that opens them)."""
    pool = AsyncConnectionPool(
        database_conninfo(),
        kwargs=CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=False,
        check=_RecentCheck().asynchronous,
        name=name,
    )
    await pool.open()
    return pool


_sync_saver: PerProcess[PostgresSaver] = PerProcess(
    lambda: PostgresSaver(sync_pool("checkpointer-sync")), lambda saver: saver.conn.close()
)


def sync_checkpointer() -> PostgresSaver:
    return _sync_saver.get()


def close_sync_checkpointer() -> None:
    """Close this process's checkpointer pool (tests drop their database afterwards)."""
    _sync_saver.close()


@dataclass(frozen=True)
class WriteFence:
    """A statement (no parameters) that fails with division_by_zero (SQLSTATE 22012) once the writer may no longer
    write, and locks what it reads until the write commits, so a takeover waits for a write that passed it
    (runs.engine.leases builds one for each attempt); and how long the write's transaction may sit idle."""

    sql: str
    idle_timeout_ms: int = 5000


_write_fence: ContextVar[WriteFence | None] = ContextVar("checkpoint_write_fence", default=None)
_writing: ContextVar[bool] = ContextVar("checkpoint_writing", default=False)


def fence_checkpoint_writes(fence: WriteFence | None) -> None:
    """Fence the checkpoint writes of the current task and of every task it starts (LangGraph copies context)."""
    _write_fence.set(fence)


@contextmanager
def _write() -> Iterator[None]:
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


class FencedAsyncPostgresSaver(AsyncPostgresSaver):
    """AsyncPostgresSaver whose writes check the current WriteFence in their own transaction."""

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        with _write():
            return await super().aput(*args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        with _write():
            await super().aput_writes(*args, **kwargs)

    async def adelete_thread(self, *args: Any, **kwargs: Any) -> None:
        with _write():
            await super().adelete_thread(*args, **kwargs)

    async def aprune(self, *args: Any, **kwargs: Any) -> None:
        with _write():
            await super().aprune(*args, **kwargs)

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
        fence = _write_fence.get()
        if fence is None or not _writing.get():
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with self.lock, self.conn.connection() as conn:
            # One message opens the transaction, one sends the fence with the COMMIT: the fence's lock is never held
            # while the server waits on this process (which may be paused or cut off), and a refused fence skips the
            # COMMIT. A transaction left idle by a paused or blocked writer is ended by Postgres.
            await conn.execute(f"BEGIN; SET LOCAL idle_in_transaction_session_timeout = {int(fence.idle_timeout_ms)}")
            try:
                async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
                await conn.execute(f"{fence.sql}; COMMIT")
            except psycopg.errors.DivisionByZero:
                await _rollback(conn)
                raise StaleAttemptError("the run's lease is gone: this attempt may not write checkpoints") from None
            except BaseException:
                await _rollback(conn)
                raise


async def _rollback(conn: psycopg.AsyncConnection) -> None:
    try:
        await conn.rollback()
    except psycopg.Error:
        pass  # a broken connection: the pool discards it


@dataclass
class _LoopSavers:
    """One pool per event loop, shared by several savers: a saver serializes its operations behind its own
    lock even when each operation takes its own pooled connection, so concurrent runs take turns among many."""

    pool: AsyncConnectionPool
    savers: list[FencedAsyncPostgresSaver]
    turn: itertools.count = field(default_factory=itertools.count)

    def next(self) -> FencedAsyncPostgresSaver:
        return self.savers[next(self.turn) % len(self.savers)]


async def _open_loop_savers() -> _LoopSavers:
    pool = await async_pool("checkpointer-async")
    return _LoopSavers(pool, [FencedAsyncPostgresSaver(pool) for _ in range(settings.CHECKPOINTER_POOL_MAX)])


_async_savers: PerLoop[_LoopSavers] = PerLoop(_open_loop_savers, lambda savers: savers.pool.close())


async def async_checkpointer() -> FencedAsyncPostgresSaver:
    """A saver bound to the running event loop (its pool is opened on first use)."""
    return (await _async_savers.get()).next()


async def close_async_checkpointer() -> None:
    await _async_savers.close()


def setup_checkpointer_tables(conninfo: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (idempotent; needs autocommit for CONCURRENTLY)."""
    with psycopg.connect(conninfo, **CONN_KWARGS) as conn:
        PostgresSaver(conn).setup()
