"""The checkpointer's pools (one per event loop, closed when that loop shuts down) and its fenced writes."""

import asyncio
import uuid

import pytest
from django.db import connection

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
