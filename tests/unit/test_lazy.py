"""Lazy per-process and per-loop values: built once where they are used, closed with their loop or on demand."""

import asyncio
import os

import pytest

from agentplatform.lazy import PerLoop, PerProcess


class Resource:
    def __init__(self, built: list) -> None:
        built.append(self)
        self.closed = False


def per_loop(built: list, *, fail_first: bool = False) -> PerLoop:
    async def build():
        await asyncio.sleep(0.01)  # let concurrent callers pile up while the value is built
        if fail_first and not built:
            built.append(None)
            raise ConnectionError("database down")
        return Resource(built)

    async def close(resource):
        resource.closed = True

    return PerLoop(build, close)


def test_per_process_builds_once_and_close_hands_it_over():
    built, closed = [], []
    lazy = PerProcess(lambda: Resource(built), closed.append)
    assert lazy.get() is lazy.get()
    lazy.close()
    assert closed == built
    assert lazy.get() is not closed[0]


def test_per_process_builds_anew_in_a_forked_child_and_leaves_the_parents_open(monkeypatch):
    built, closed = [], []
    lazy = PerProcess(lambda: Resource(built), closed.append)
    parents = lazy.get()
    monkeypatch.setattr(os, "getpid", lambda: -1)
    lazy.close()
    assert closed == []
    assert lazy.get() is not parents


def test_per_loop_builds_once_for_concurrent_callers_on_one_loop():
    built = []
    lazy = per_loop(built)

    async def main():
        return await asyncio.gather(*(lazy.get() for _ in range(5)))

    values = asyncio.run(main())
    assert len(built) == 1
    assert all(value is built[0] for value in values)


def test_per_loop_value_is_closed_when_its_loop_shuts_down_and_each_loop_gets_its_own():
    built = []
    lazy = per_loop(built)
    first = asyncio.run(lazy.get())
    second = asyncio.run(lazy.get())
    assert first is not second
    assert first.closed and second.closed


def test_per_loop_close_closes_and_the_next_get_builds_again():
    built = []
    lazy = per_loop(built)

    async def main():
        first = await lazy.get()
        await lazy.close()
        return first, await lazy.get()

    first, second = asyncio.run(main())
    assert first.closed
    assert second is not first


def test_per_loop_build_failure_reaches_the_caller_and_is_not_kept():
    built = []
    lazy = per_loop(built, fail_first=True)

    async def main():
        with pytest.raises(ConnectionError):
            await lazy.get()
        return await lazy.get()

    assert isinstance(asyncio.run(main()), Resource)


def test_per_loop_caller_cancelled_while_building_leaves_the_value_to_the_others():
    built = []
    lazy = per_loop(built)

    async def main():
        impatient = asyncio.create_task(lazy.get())
        await asyncio.sleep(0)
        impatient.cancel()
        return await lazy.get()

    assert asyncio.run(main()) is built[0]
    assert len(built) == 1
