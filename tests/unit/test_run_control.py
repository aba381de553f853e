"""RunControl, the worker thread's handle on an attempt: a cancel that was swallowed is repeated, not lost."""

from __future__ import annotations

import asyncio

from runs.engine import executor
from runs.engine.executor import CancelReason, RunControl


async def swallows_one_cancel() -> str:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        pass  # as some library code on the way does
    await asyncio.sleep(10)
    return "finished"


async def controlled() -> tuple[RunControl, asyncio.Task]:
    """A control attached to a task that swallows its first cancel, the task started."""
    control = RunControl()
    task = asyncio.create_task(swallows_one_cancel())
    control.attach(task)
    await asyncio.sleep(0)
    return control, task


def test_a_swallowed_cancel_is_repeated_after_a_while_but_not_at_once(monkeypatch):
    monkeypatch.setattr(executor, "RECANCEL_SECS", 0.2)

    async def scenario() -> bool:
        control, task = await controlled()
        control.cancel(CancelReason.INTERRUPT)
        await asyncio.sleep(0.05)
        control.cancel(CancelReason.ROLLBACK)  # too soon: it could interrupt the graph's clean-up
        await asyncio.sleep(0.05)
        assert not task.done()
        await asyncio.sleep(0.2)
        control.cancel(CancelReason.INTERRUPT)
        await asyncio.sleep(0.05)
        assert control.reason is CancelReason.INTERRUPT, "the first reason wins"
        return task.cancelled()

    assert asyncio.run(scenario())


def test_an_attempt_that_lost_its_lease_is_cancelled_again_sooner(monkeypatch):
    """A lost lease leaves no clean-up worth waiting for (psycopg's own cancellation of a query on a cut network
    takes seconds): the repeat comes after LOST_RECANCEL_SECS, not RECANCEL_SECS."""
    monkeypatch.setattr(executor, "RECANCEL_SECS", 5.0)
    monkeypatch.setattr(executor, "LOST_RECANCEL_SECS", 0.2)

    async def scenario() -> bool:
        control, task = await controlled()
        control.cancel(CancelReason.LEASE_LOST)
        await asyncio.sleep(0.3)
        control.cancel(CancelReason.LEASE_LOST)
        await asyncio.sleep(0.05)
        return task.cancelled()

    assert asyncio.run(scenario())
