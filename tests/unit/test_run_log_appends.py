"""The attempt's event log writer: events emitted while an append is in flight go in the next append, in order,
and a refusal by the log (a later attempt owns it) still ends the attempt."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agentplatform.errors import StaleAttemptError
from runs.engine import executor


class FakeLog:
    """append_attempt_batch, one call at a time, each held until the test lets it through."""

    def __init__(self, refuse: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.refuse = refuse

    async def append_attempt_batch(self, run_id, attempt, events) -> list[str]:
        self.batches.append([event for event, _ in events])
        await self.release.wait()
        if self.refuse:
            raise StaleAttemptError("superseded")
        return [f"{n}-0" for n in range(len(events))]


def run_log(monkeypatch, fake: FakeLog) -> executor._RunLog:
    monkeypatch.setattr(executor.stream_log, "append_attempt_batch", fake.append_attempt_batch)
    return executor._RunLog(uuid.uuid4(), 1)


def test_events_emitted_during_an_append_go_in_the_next_one_in_order(monkeypatch):
    async def scenario() -> list[list[str]]:
        fake = FakeLog()
        log = run_log(monkeypatch, fake)
        await log.publish("a", b"1")
        await asyncio.sleep(0)  # the first append is in flight
        for event in ("b", "c", "d"):
            await log.publish(event, b"2")
        fake.release.set()
        await log.flush()
        return fake.batches

    assert asyncio.run(scenario()) == [["a"], ["b", "c", "d"]]


def test_the_graph_waits_for_the_appends_past_the_queue_bound(monkeypatch):
    monkeypatch.setattr(executor, "_MAX_QUEUED_EVENTS", 3)

    async def scenario() -> bool:
        fake = FakeLog()
        log = run_log(monkeypatch, fake)
        await log.publish("a", b"1")
        await asyncio.sleep(0)
        await log.publish("b", b"1")
        await log.publish("c", b"1")
        blocked = asyncio.create_task(log.publish("d", b"1"))
        await asyncio.sleep(0.05)
        waited = not blocked.done()
        fake.release.set()
        await blocked
        return waited

    assert asyncio.run(scenario())


def test_a_refusal_is_raised_by_the_next_publish_and_by_flush(monkeypatch):
    async def scenario() -> None:
        fake = FakeLog(refuse=True)
        fake.release.set()
        log = run_log(monkeypatch, fake)
        await log.publish("a", b"1")
        with pytest.raises(StaleAttemptError):
            await log.flush()
        with pytest.raises(StaleAttemptError):
            await log.publish("b", b"1")

    asyncio.run(scenario())


def test_a_cancelled_attempt_still_appends_what_it_emitted(monkeypatch):
    async def scenario() -> list[list[str]]:
        fake = FakeLog()
        log = run_log(monkeypatch, fake)

        async def graph() -> None:
            await log.publish("a", b"1")
            await log.flush()

        task = asyncio.create_task(graph())
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        fake.release.set()
        await log.flush()
        return fake.batches

    assert asyncio.run(scenario()) == [["a"]]


def test_an_attempt_that_lost_its_lease_abandons_its_appends_at_once(monkeypatch):
    """An append on a cut network never answers: the lost attempt must not wait for it (nor append the rest)."""

    async def scenario() -> tuple[list[list[str]], bool]:
        fake = FakeLog()  # never released: the append hangs as on a dead socket
        log = run_log(monkeypatch, fake)
        await log.publish("a", b"1")
        await asyncio.sleep(0)
        await log.publish("b", b"1")
        log.abandon()
        await asyncio.wait_for(log.flush(), 1)
        return fake.batches, log._writer is None

    assert asyncio.run(scenario()) == ([["a"]], True)


def test_a_checkpoint_write_waits_for_the_events_emitted_before_it(monkeypatch):
    """A checkpoint lets a resumed attempt skip its step: the step's events must be in the log first (appended in
    the background, a cut-off attempt's were lost with it while its checkpoint was durable)."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from agentplatform import persistence

    order: list[str] = []

    async def put(self, *args, **kwargs):
        order.append("checkpoint")

    monkeypatch.setattr(AsyncPostgresSaver, "aput", put)
    monkeypatch.setattr(AsyncPostgresSaver, "aput_writes", put)

    async def scenario() -> None:
        fake = FakeLog()
        log = run_log(monkeypatch, fake)
        persistence.before_checkpoint_writes(log.flush)
        saver = persistence.FencedAsyncPostgresSaver.__new__(persistence.FencedAsyncPostgresSaver)
        await log.publish("custom", b"step 0")
        writing = asyncio.ensure_future(saver.aput({}, {}, {}, {}))
        await asyncio.sleep(0.05)
        assert order == [] and not writing.done(), "the checkpoint went ahead of its step's event"
        fake.release.set()
        await writing
        await saver.aput_writes({}, [], "task")
        assert fake.batches == [["custom"]]

    asyncio.run(scenario())
    assert order == ["checkpoint", "checkpoint"]
