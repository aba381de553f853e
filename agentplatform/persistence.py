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

import asyncio
import itertools
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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
# After a database outage (a restart, a failover) every idle connection of a pool is dead, and psycopg_pool finds
# that out one checkout at a time, sleeping 1, 2, 4, ... s between the failed checks: with five dead connections
# a request waited past the pool's 30 s timeout (the API answered 503 twice in a row in the fault suite). So a
# failed check has the rest of the pool checked at once (`check()` replaces what is dead). psycopg_pool's
# reconnection attempts also double their delay for 5 minutes: a series begun early in a long outage waited up
# to half a minute more once the database was back. Here a series gives up after RECONNECT_SECS and the pool
# starts another, so it keeps trying, a couple of seconds apart at most, for as long as the outage lasts.
RECONNECT_SECS = 3.0


class _PoolCheck:
    """A pool's `check`: psycopg_pool's own (skipped, when `recent`, for a connection checked less than
    CHECK_AFTER_IDLE_SECS ago). A failed one has the rest of the pool checked, in the background: on a silent
    network each check waits for tcp_user_timeout, and the checkout that failed has its own deadline."""

    def __init__(self, *, recent: bool = True) -> None:
        self.recent = recent
        self.pool: ConnectionPool | AsyncConnectionPool | None = None
        self.checked_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.sweeping = threading.Event()  # one sweep at a time: it checks every connection idle in the pool
        self.tasks: set[asyncio.Task] = set()

    def _due(self, conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
        checked_at = self.checked_at.get(conn, float("-inf"))
        return not self.recent or time.monotonic() - checked_at >= CHECK_AFTER_IDLE_SECS

    def sync(self, conn: psycopg.Connection) -> None:
        if not self._due(conn):
            return
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            if not self.sweeping.is_set():
                self.sweeping.set()
                threading.Thread(target=self._sweep, name=f"{self.pool.name}-sweep", daemon=True).start()
            raise
        self.checked_at[conn] = time.monotonic()

    def _sweep(self) -> None:
        try:
            self.pool.check()
        finally:
            self.sweeping.clear()

    async def asynchronous(self, conn: psycopg.AsyncConnection) -> None:
        if not self._due(conn):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except psycopg.Error:
            if not self.sweeping.is_set():
                self.sweeping.set()
                task = asyncio.get_running_loop().create_task(self._sweep_async())
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            raise
        self.checked_at[conn] = time.monotonic()

    async def _sweep_async(self) -> None:
        try:
            await self.pool.check()
        finally:
            self.sweeping.clear()


def _reconnect_again(pool: ConnectionPool) -> None:
    """psycopg_pool's `reconnect_failed`: a series of attempts gave up; `check()` grows the pool, a new series."""
    if not pool.closed:
        pool.check()


async def _reconnect_again_async(pool: AsyncConnectionPool) -> None:
    if not pool.closed:
        await pool.check()


def sync_pool(name: str) -> ConnectionPool:
    check = _PoolCheck()
    check.pool = ConnectionPool(
        database_conninfo(),
        kwargs=CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=True,
        check=check.sync,
        reconnect_timeout=RECONNECT_SECS,
        reconnect_failed=_reconnect_again,
        name=name,
    )
    return check.pool


async def async_pool(name: str) -> AsyncConnectionPool:
    """A pool opened on the running loop (psycopg binds async pools to the loop that opens them)."""
    check = _PoolCheck()
    check.pool = AsyncConnectionPool(
        database_conninfo(),
        kwargs=CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=False,
        check=check.asynchronous,
        reconnect_timeout=RECONNECT_SECS,
        reconnect_failed=_reconnect_again_async,
        name=name,
    )
    await check.pool.open()
    return check.pool


def database_pool_recovers(*, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: Django's own pool (DB_POOL_MAX) recovers from an outage as ours do. Django
    builds it with psycopg_pool's plain check (CONN_HEALTH_CHECKS), so its check and reconnection are replaced
    on its first connection (psycopg_pool has no setter for them; tests/component/test_persistence.py holds it)."""
    pool = getattr(connection, "pool", None)
    if pool is None or pool._reconnect_failed is _reconnect_again:
        return
    if pool._check is not None:  # CONN_HEALTH_CHECKS on: Django checks each checkout
        check = _PoolCheck(recent=False)
        check.pool, pool._check = pool, check.sync
    pool.reconnect_timeout, pool._reconnect_failed = RECONNECT_SECS, _reconnect_again


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
_before_write: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("checkpoint_before_write", default=None)


def fence_checkpoint_writes(fence: WriteFence | None) -> None:
    """Fence the checkpoint writes of the current task and of every task it starts (LangGraph copies context)."""
    _write_fence.set(fence)


def before_checkpoint_writes(wait: Callable[[], Awaitable[None]] | None) -> None:
    """Await `wait()` before each checkpoint write of the current task and of every task it starts. An attempt
    passes its stream log's flush: a step's events are in the run's log before the checkpoint or task writes that
    let a resumed attempt skip the step (appended in the background, they could be lost with the attempt)."""
    _before_write.set(wait)


async def _await_before_write() -> None:
    wait = _before_write.get()
    if wait is not None:
        await wait()


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
        await _await_before_write()
        with _write():
            return await super().aput(*args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        await _await_before_write()
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
