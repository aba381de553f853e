"""The checkpointer's pools (one per event loop, closed when that loop shuts down) and its fenced writes."""

import asyncio
import time
import uuid

import psycopg
import pytest
from django.db import connection

from agentplatform.embedded import free_port
from agentplatform.errors import StaleAttemptError
from agentplatform.graphs import get_registry
from agentplatform.persistence import WriteFence, async_checkpointer, close_async_checkpointer, fence_checkpoint_writes

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_loop_gets_its_own_checkpointer_pool_closed_when_the_loop_shuts_down():
    async def pool_of_this_loop():
        first, second = await async_checkpointer(), await async_checkpointer()
        assert first.conn is second.conn
        return first.conn

    pools = [asyncio.run(pool_of_this_loop()) for _ in range(2)]
    assert pools[0] is not pools[1]
    assert all(pool.closed for pool in pools)


def _echo_on_a_new_thread(fence: WriteFence | None) -> tuple[str, Exception | None]:
    """Run the echo graph with the loop's saver under `fence`; the thread id and what it raised."""
    thread_id = str(uuid.uuid4())

    async def scenario():
        fence_checkpoint_writes(fence)
        config = {"configurable": {"thread_id": thread_id}}
        saver = await async_checkpointer()
        try:
            async with get_registry().agraph("echo", config, checkpointer=saver, store=None) as graph:
                await graph.ainvoke({"value": "x"}, config)
        except Exception as exc:  # returned for the test to inspect
            return exc
        finally:
            await close_async_checkpointer()

    return thread_id, asyncio.run(scenario())


def _checkpoints_of(thread_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", [thread_id])
        written = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM checkpoint_writes WHERE thread_id = %s", [thread_id])
        return written + cursor.fetchone()[0]


def test_checkpoint_writes_commit_while_their_fence_holds():
    thread_id, raised = _echo_on_a_new_thread(WriteFence("SELECT 1 / 1"))
    assert raised is None
    assert _checkpoints_of(thread_id) > 0


def test_checkpoint_writes_are_refused_and_leave_nothing_once_their_fence_fails():
    thread_id, raised = _echo_on_a_new_thread(WriteFence("SELECT 1 / 0"))
    assert isinstance(raised, StaleAttemptError)
    assert _checkpoints_of(thread_id) == 0


def test_pooled_connections_are_checked_again_only_after_being_idle(monkeypatch):
    from psycopg_pool import ConnectionPool

    from agentplatform import persistence

    checks: list = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: checks.append(conn)))
    pool = persistence.sync_pool("test-checks")
    try:
        # Until its first connection is ready a waiting checkout makes the pool grow one more; on a loaded machine
        # that raced the three checkouts below. Each connection is checked once however many there are.
        pool.wait()
        for _ in range(3):
            with pool.connection():
                pass
        assert len(checks) == len({id(conn) for conn in checks}) >= 1
        before = len(checks)
        monkeypatch.setattr(persistence, "CHECK_AFTER_IDLE_SECS", 0.0)
        with pool.connection():
            pass
        assert len(checks) == before + 1
    finally:
        pool.close()


def _terminate(pids: list[int]) -> None:
    """End these backends from outside, as a PostgreSQL restart ends every connection of a pool."""
    from agentplatform.persistence import CONN_KWARGS, database_conninfo

    with psycopg.connect(database_conninfo(), **CONN_KWARGS) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))


def _hold_and_return(getconn, putconn, count: int) -> list[int]:
    """Grow a pool to `count` connections, all back in it (idle) afterwards; their backend pids."""
    conns = [getconn() for _ in range(count)]
    pids = [conn.info.backend_pid for conn in conns]
    for conn in conns:
        putconn(conn)
    return pids


def test_a_pool_whose_idle_connections_all_died_hands_out_a_new_one_within_seconds(monkeypatch):
    from agentplatform import persistence

    monkeypatch.setattr(persistence, "CHECK_AFTER_IDLE_SECS", 0.0)
    pool = persistence.sync_pool("test-dead")
    try:
        _terminate(_hold_and_return(pool.getconn, pool.putconn, 6))
        started = time.monotonic()
        # psycopg_pool alone sleeps 1, 2, 4, 8, 16 s between the failed checks of six dead connections.
        with pool.connection(timeout=10) as conn:
            conn.execute("SELECT 1")
        assert time.monotonic() - started < 3
    finally:
        pool.close()


def test_djangos_pool_whose_idle_connections_all_died_hands_out_a_new_one_within_seconds():
    from django.db import connections

    connection.ensure_connection()  # its first connection swaps the pool's check (connection_created)
    pool = connection.pool
    assert pool is not None, "the settings use Django's pool (DB_POOL_MAX)"
    connection.close()  # back to the pool
    _terminate(_hold_and_return(pool.getconn, pool.putconn, 6))
    started = time.monotonic()
    connections["default"].ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert time.monotonic() - started < 3


def test_a_pool_reconnects_within_moments_of_the_database_coming_back_however_long_it_was_gone(monkeypatch):
    from psycopg_pool.base import AttemptWithBackoff

    from agentplatform import persistence

    # Scaled down tenfold: psycopg_pool's first retry after 0.1 s, doubling; ours give up after 0.3 s and restart.
    monkeypatch.setattr(AttemptWithBackoff, "INITIAL_DELAY", 0.1)
    monkeypatch.setattr(persistence, "RECONNECT_SECS", 0.3)
    real, back_at = persistence.database_conninfo(), time.monotonic() + 2.0
    closed = f"host=127.0.0.1 port={free_port()} dbname=x connect_timeout=1"
    conninfo = lambda: real if time.monotonic() > back_at else closed  # noqa: E731 - psycopg_pool calls it
    monkeypatch.setattr(persistence, "database_conninfo", lambda: conninfo)
    pool = persistence.sync_pool("test-outage")
    try:
        # Alone, psycopg_pool's attempts came at 0, 0.1, 0.3, 0.7, 1.5, 3.1 s: 1.1 s after the database was back.
        with pool.connection(timeout=10) as conn:
            conn.execute("SELECT 1")
        assert time.monotonic() - back_at < 0.6
    finally:
        pool.close()
