"""The checkpointer's pools: one per event loop, closed when that loop shuts down."""

import asyncio

import pytest

from agentplatform.persistence import async_checkpointer

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_loop_gets_its_own_checkpointer_pool_closed_when_the_loop_shuts_down():
    async def pool_of_this_loop():
        first, second = await async_checkpointer(), await async_checkpointer()
        assert first.conn is second.conn
        return first.conn

    pools = [asyncio.run(pool_of_this_loop()) for _ in range(2)]
    assert pools[0] is not pools[1]
    assert all(pool.closed for pool in pools)


def test_pooled_connections_are_checked_again_only_after_being_idle(monkeypatch):
    from psycopg_pool import ConnectionPool

    from agentplatform import persistence

    checks: list = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: checks.append(conn)))
    pool = persistence.sync_pool("test-checks")
    try:
        for _ in range(3):
            with pool.connection():
                pass
        assert len(checks) == 1
        monkeypatch.setattr(persistence, "CHECK_AFTER_IDLE_SECS", 0.0)
        with pool.connection():
            pass
        assert len(checks) == 2
    finally:
        pool.close()
