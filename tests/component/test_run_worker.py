"""The worker's supervision against real Postgres and Redis: what ends an attempt that cannot end itself, and
what a zombie attempt may still write (design.md "Workers and asyncio", invariant 2)."""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest
from django.db import connection

from agentplatform import stream_log
from agentplatform.persistence import close_async_checkpointer
from agentplatform.redis_clients import sync_redis
from runs.engine import executor, leases, worker, worker_loop
from runs.engine.executor import RunControl, RunSpec
from runs.models import Run
from store.backend import close_async_store
from threads.models import Thread
from threads.services import thread_delete

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rung(monkeypatch):
    calls: list = []
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: calls.append(str(run_id)))
    return calls


@pytest.fixture(scope="module", autouse=True)
def close_pools():
    yield
    worker_loop.run(close_async_checkpointer(), timeout=10)
    worker_loop.run(close_async_store(), timeout=10)


def pending_run(graph_id: str, run_input: dict, **kwargs) -> Run:
    thread = Thread.objects.create(status="busy")
    run_id = uuid.uuid4()
    configurable = {"graph_id": graph_id, "run_id": str(run_id), "thread_id": str(thread.thread_id)}
    run_kwargs = {"input": run_input, "config": {"configurable": configurable}, "stream_mode": ["values"], **kwargs}
    return Run.objects.create(run_id=run_id, thread=thread, assistant_id=uuid.uuid4(), kwargs=run_kwargs)


def logged_events(run_id) -> list[tuple[str, dict]]:
    rows = sync_redis().xrange(stream_log.run_stream_key(run_id))
    return [(event, orjson.loads(data)) for _, event, data in stream_log.decode_entries(rows)]


def execute_in_thread(run: Run) -> threading.Thread:
    def target():
        try:
            worker.run_execute(run_id=run.run_id)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_a_graph_that_ignores_its_cancellation_is_timed_out_from_outside(settings, monkeypatch):
    settings.BG_JOB_TIMEOUT_SECS = 0.5
    monkeypatch.setattr(worker, "TIMEOUT_GRACE_SECS", 0.5)
    run = pending_run("stubborn", {"seconds": 4})
    started = time.monotonic()
    worker.run_execute(run_id=run.run_id)
    took = time.monotonic() - started
    run.refresh_from_db()
    assert run.status == "timeout"
    assert run.error["error"] == "TimeoutError"
    assert took < 3, "ended long before the graph stopped by itself"
    assert [event for event, _ in logged_events(run.run_id)][-2:] == ["error", stream_log.DONE_EVENT]
    assert Thread.objects.get(thread_id=run.thread_id).status == "error"


def test_a_graph_blocking_the_loop_ends_in_error_and_the_runs_sharing_its_loop_are_given_back(settings, rung):
    settings.BG_JOB_LOOP_BLOCKED_SECS = 1
    blocked_loop = worker_loop.current()
    neighbour = pending_run("sleepy", {"seconds": 3, "steps": 1})
    blocker = pending_run("blocking", {"seconds": 6})
    started = time.monotonic()
    threads = [execute_in_thread(neighbour)]
    time.sleep(0.3)  # the neighbour is waiting on the loop when the blocker takes it
    threads.append(execute_in_thread(blocker))
    for thread in threads:
        thread.join(10)
    took = time.monotonic() - started
    blocker.refresh_from_db()
    neighbour.refresh_from_db()
    assert blocker.status == "error"
    assert blocker.error["error"] == "BlockingError"
    assert "Node 'block' blocked the event loop" in blocker.error["message"]
    assert "asyncio.to_thread" in blocker.error["message"]
    assert neighbour.status == "pending" and rung == [str(neighbour.run_id)]
    assert took < 4.5, "both ended long before the blocking call returned"
    assert worker_loop.current() is not blocked_loop
    blocked_loop.thread.join(15)  # the old loop winds down once its blocking call returns
    assert not blocked_loop.thread.is_alive() and blocked_loop.loop.is_closed()
    events = [event for event, _ in logged_events(blocker.run_id)]
    assert events[-2:] == ["error", stream_log.DONE_EVENT], "nothing after the ending, even once the node returned"


def test_a_sync_node_sleeping_does_not_block_the_loop(settings):
    settings.BG_JOB_LOOP_BLOCKED_SECS = 1
    loop_before = worker_loop.current()
    run = pending_run("sync_blocking", {"seconds": 2.5})
    worker.run_execute(run_id=run.run_id)
    run.refresh_from_db()
    assert run.status == "success"
    assert worker_loop.current() is loop_before


def _checkpoint_ids(thread_id) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s", [str(thread_id)])
        written = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT checkpoint_id || task_id || idx FROM checkpoint_writes WHERE thread_id = %s", [str(thread_id)]
        )
        return written + [row[0] for row in cursor.fetchall()]


def test_an_attempt_whose_lease_was_taken_over_writes_no_checkpoint_and_no_event_after():
    run = pending_run("sleepy", {"seconds": 0.3, "steps": 20}, durability="sync")
    claimed, lease = leases.run_claim(run_id=run.run_id, owner="zombie")
    spec = RunSpec(run.run_id, run.thread_id, run.assistant_id, 1, claimed.kwargs, fence=leases.checkpoint_fence(lease))
    future = worker_loop.submit(executor.execute(spec, RunControl()))  # nobody renews or polls: a zombie
    time.sleep(1)
    # The sweeper re-queues the run and another worker claims it: a new token and attempt.
    Run.objects.filter(run_id=run.run_id).update(lease_token=uuid.uuid4(), attempt=2)
    worker_loop.run(stream_log.append_start(run.run_id, 2), timeout=5)
    taken_over = (set(_checkpoint_ids(run.thread_id)), len(logged_events(run.run_id)))
    outcome = future.result(timeout=10)
    assert outcome.status == "lease_lost"
    assert (set(_checkpoint_ids(run.thread_id)), len(logged_events(run.run_id))) == taken_over


def test_deleting_a_thread_while_its_run_runs_stops_the_run_and_leaves_no_checkpoint():
    run = pending_run("sleepy", {"seconds": 0.3, "steps": 20}, durability="sync")
    claimed, lease = leases.run_claim(run_id=run.run_id, owner="w")
    spec = RunSpec(run.run_id, run.thread_id, run.assistant_id, 1, claimed.kwargs, fence=leases.checkpoint_fence(lease))
    future = worker_loop.submit(executor.execute(spec, RunControl()))
    time.sleep(1)
    thread_delete(thread_id=run.thread_id)  # 204 as officially, the run's row goes with the thread
    assert future.result(timeout=10).status == "lease_lost"
    assert _checkpoint_ids(run.thread_id) == []
