"""The worker process's one asyncio event loop, in a dedicated thread, on which every run of the process executes.

Celery task threads hand coroutines to it and wait for them; the per-loop checkpointer pool and Redis client
(agentplatform.persistence, agentplatform.redis_clients) therefore live as long as the process. The loop is
created on first use, so it is never inherited across fork.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any


class _State:
    lock = threading.Lock()
    pid: int | None = None
    loop: asyncio.AbstractEventLoop | None = None
    shutdown_at: float | None = None


def event_loop() -> asyncio.AbstractEventLoop:
    """The process's run loop, started on first use (again in a forked child)."""
    if _State.loop is not None and _State.pid == os.getpid():
        return _State.loop
    with _State.lock:
        if _State.loop is None or _State.pid != os.getpid():
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(target=_run_forever, args=(loop, ready), name="run-loop", daemon=True)
            thread.start()
            ready.wait()
            _State.loop, _State.pid = loop, os.getpid()
    return _State.loop


def _run_forever(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def submit(coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
    return asyncio.run_coroutine_threadsafe(coro, event_loop())


def run(coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
    """Run a coroutine on the process loop and wait for its result from a (non-loop) thread."""
    return submit(coro).result(timeout)


def begin_shutdown() -> None:
    """Called on warm shutdown: running runs get BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS, then are released."""
    if _State.shutdown_at is None:
        _State.shutdown_at = time.monotonic()


def seconds_since_shutdown() -> float | None:
    return None if _State.shutdown_at is None else time.monotonic() - _State.shutdown_at
