"""Waiting for a run's result (/wait, /join): the ending from the run's result log, else from its row."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agentplatform import stream_log
from agentplatform.redis_clients import sync_redis
from runs.models import Run
from runs.streams import waiting
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


def running_run() -> Run:
    thread = Thread.objects.create(status="busy")
    return Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), status="running", kwargs={})


def test_the_wait_ends_with_the_done_event_however_many_events_come_before():
    run = running_run()

    async def scenario():
        waiter = asyncio.create_task(waiting.run_wait_result(run.run_id))
        await asyncio.sleep(0.1)
        await stream_log.append_start(run.run_id, 1)
        for n in range(5):
            await stream_log.append_attempt(run.run_id, 1, "values", {"n": n})
        await asyncio.to_thread(stream_log.finish_sync, run.run_id, "success", {"n": 4})
        return await asyncio.wait_for(waiter, 5)

    assert asyncio.run(scenario()) == {"n": 4}


def test_a_run_that_ended_before_the_wait_answers_at_once():
    run = running_run()
    stream_log.finish_sync(run.run_id, "success", {"done": True})
    assert asyncio.run(asyncio.wait_for(waiting.run_wait_result(run.run_id), 2)) == {"done": True}


def test_a_lost_result_log_is_answered_from_the_runs_row(monkeypatch):
    monkeypatch.setattr(waiting, "_BLOCK_MS", 100)  # the silent log's wait, before the row is asked
    run = running_run()
    Run.objects.filter(run_id=run.run_id).update(status="success", output={"from": "row"})
    sync_redis().delete(stream_log.run_result_key(run.run_id), stream_log.run_stream_key(run.run_id))
    assert asyncio.run(asyncio.wait_for(waiting.run_wait_result(run.run_id), 10)) == {"from": "row"}
