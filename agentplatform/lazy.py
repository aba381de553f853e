"""Values built on first use and then shared: one per process, or one per event loop (pools, savers, stores).

Never built at import time and never inherited across fork: a forked child builds its own and leaves its parent's
alone (closing them would close the parent's connections). A per-loop value is closed by `close()` on its loop,
or when the loop shuts down (asyncio.run cancels every task, the value's holder among them); one whose loop was
closed without that is forgotten at the next use.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """`build()` once per process, on first `get()`; `close()` hands it to `close` and forgets it."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], Any] | None = None) -> None:
        self._build, self._close = build, close
        self._lock = threading.Lock()
        self._held: tuple[int, T] | None = None  # (pid, value): one attribute, so a reader sees both or neither

    def get(self) -> T:
        held = self._held
        if held is None or held[0] != os.getpid():
            with self._lock:
                held = self._held
                if held is None or held[0] != os.getpid():
                    held = self._held = (os.getpid(), self._build())
        return held[1]

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, None
        if held is not None and held[0] == os.getpid() and self._close is not None:
            self._close(held[1])


_every_per_loop: weakref.WeakSet = weakref.WeakSet()


async def close_loop_values() -> None:
    """Close every per-loop value of the running loop, one by one: for a loop that is given up while it runs on.

    Unlike a shutdown that cancels every task at once, a pool closed this way still has its own tasks to close
    its connections with.
    """
    for per_loop in list(_every_per_loop):
        await per_loop.close()


@dataclass
class _Slot:
    ready: asyncio.Future  # the value, once built
    holder: asyncio.Task | None = field(default=None, repr=False)


class PerLoop(Generic[T]):
    """`await build()` once per event loop, on first `await get()` there; closed with `close` on that loop."""

    def __init__(self, build: Callable[[], Awaitable[T]], close: Callable[[T], Awaitable[Any]]) -> None:
        self._build, self._close = build, close
        self._lock = threading.Lock()  # loops in several threads share the table
        self._pid = os.getpid()
        self._slots: dict[asyncio.AbstractEventLoop, _Slot] = {}
        _every_per_loop.add(self)

    async def get(self) -> T:
        loop = asyncio.get_running_loop()
        with self._lock:
            slot = self._slot_on(loop)
        # Shielded: a caller that is cancelled while the value is built must not cancel it for the others.
        return await asyncio.shield(slot.ready)

    async def close(self) -> None:
        """Close the running loop's value, if it has one (the next `get()` builds a new one)."""
        with self._lock:
            slot = self._slots.pop(asyncio.get_running_loop(), None)
        if slot is not None and slot.holder is not None:
            slot.holder.cancel()
            await asyncio.wait([slot.holder])

    def _slot_on(self, loop: asyncio.AbstractEventLoop) -> _Slot:
        if self._pid != os.getpid():
            self._pid, self._slots = os.getpid(), {}
        for closed in [other for other in self._slots if other.is_closed()]:
            del self._slots[closed]
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._slots[loop] = _Slot(loop.create_future())
            slot.holder = loop.create_task(self._hold(loop, slot))
            # A loop that runs for the life of the process never cancels it: no warning when exit destroys it.
            slot.holder._log_destroy_pending = False
        return slot

    async def _hold(self, loop: asyncio.AbstractEventLoop, slot: _Slot) -> None:
        """Build the value, publish it, then park until cancelled and close it.

        A task rather than a hook on loop close: asyncio.run cancels every task at once, and a psycopg pool whose
        own tasks are cancelled only stops if it is being closed meanwhile.
        """
        try:
            value = await self._build()
        except asyncio.CancelledError:
            self._forget(loop, slot)
            slot.ready.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every waiting get(); the next get() builds again
            self._forget(loop, slot)
            slot.ready.set_exception(exc)
            return
        slot.ready.set_result(value)
        try:
            await loop.create_future()
        except asyncio.CancelledError:  # not GeneratorExit: a task destroyed at exit cannot await anything
            self._forget(loop, slot)
            await self._close(value)
            raise

    def _forget(self, loop: asyncio.AbstractEventLoop, slot: _Slot) -> None:
        with self._lock:
            if self._slots.get(loop) is slot:
                del self._slots[loop]
