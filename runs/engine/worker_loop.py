"""The worker process's event loop for runs, in a dedicated thread, and the watchdog that replaces it when blocked.

Celery task threads hand coroutines to the loop and wait for them; the per-loop checkpointer pool, store and Redis
client (agentplatform.persistence, store.backend, agentplatform.redis_clients) live as long as it. The loop is
created on first use, so it is never inherited across fork.

A graph can block the loop (a sync `time.sleep` or CPU-bound work in an async node) and nothing on that loop can
stop it, so a watchdog thread measures how late the loop runs a callback. Past BG_JOB_LOOP_BLOCKED_SECS the loop
is *abandoned*: the watchdog records what blocked it (the run and node of the task running at that moment), the
next submission gets a fresh loop, and the supervisors of the abandoned loop's attempts end them (runs.engine.worker).
When the blocking call returns, the abandoned loop stops, cancels what was left on it, closes its pools and its
thread exits. A process that was paused (SIGSTOP, starved of CPU) is told apart from a blocked loop by its CPU
time, which does not advance while it is stopped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from langchain_core.runnables.config import var_child_runnable_config

from agentplatform.lazy import close_loop_values
from agentplatform.redis_clients import close_async_redis

logger = logging.getLogger(__name__)

WATCH_INTERVAL_SECS = 0.2
# The watchdog slept this much longer than asked without the process using the CPU: the process was paused.
PAUSE_TOLERANCE_SECS = 1.0
# Abandoned loops still blocked at once before the worker gives up and stops (warm shutdown; its supervisor
# restarts it): each holds a thread and its connections until its blocking call returns.
MAX_STUCK_LOOPS = 3
# How long an abandoned loop's leftover tasks get to finish their cancellation before the loop is closed.
WIND_DOWN_SECS = 10.0

# The run whose attempt a task belongs to: set for each submitted attempt, inherited by every task it starts.
current_run: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_run", default=None)


@dataclass(frozen=True)
class Blockage:
    """What held an abandoned loop: for how long, and, when known, the run and graph node running at the time."""

    seconds: float
    run_id: str | None = None
    node: str | None = None
    where: str | None = None  # the innermost Python frame, "function (file:line)"


class _RunTask(asyncio.Task):
    """A task that remembers the run and LangGraph node it was started for, so the watchdog can name them."""

    run_id: str | None = None
    node: str | None = None


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, context: contextvars.Context | None = None) -> Any:
    task = _RunTask(coro, loop=loop, context=context)
    read = context.get if context is not None else (lambda var: var.get())
    task.run_id = read(current_run)
    config = read(var_child_runnable_config)
    if isinstance(config, dict):
        task.node = (config.get("metadata") or {}).get("langgraph_node")
    return task


class RunLoop:
    """One event loop serving runs in its own thread."""

    _count = 0

    def __init__(self) -> None:
        RunLoop._count += 1
        self.loop = asyncio.new_event_loop()
        self.loop.set_task_factory(_task_factory)
        self.abandoned = threading.Event()
        self.blockage: Blockage | None = None
        self.last_beat = time.monotonic()
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._serve, args=(ready,), name=f"run-loop-{RunLoop._count}", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()
        _wind_down(self.loop)

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def submit(self, coro: Coroutine[Any, Any, Any], run_id: object | None = None) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(_as_run(coro, run_id), self.loop)

    def abandon(self, blockage: Blockage) -> None:
        """Give up on this loop: its attempts are ended by their supervisors, and it stops once it runs again."""
        self.blockage = blockage
        self.abandoned.set()
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _as_run(coro: Coroutine[Any, Any, Any], run_id: object | None) -> Any:
    if run_id is not None:
        current_run.set(str(run_id))
    return await coro


def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    """After an abandoned loop ran again: close its pools and clients, cancel what is left, then close it."""
    loop.run_until_complete(close_loop_values())
    loop.run_until_complete(close_async_redis())
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=WIND_DOWN_SECS))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    logger.info("an abandoned run loop stopped: %d leftover task(s) cancelled", len(tasks))


class _State:
    lock = threading.Lock()
    pid: int | None = None
    current: RunLoop | None = None
    abandoned: list[RunLoop] = []
    shutdown_at: float | None = None
    gave_up = False


def current() -> RunLoop:
    """The loop new attempts go to, started on first use (again in a forked child, and after an abandonment)."""
    run_loop = _State.current
    if run_loop is not None and _State.pid == os.getpid():
        return run_loop
    with _State.lock:
        if _State.pid != os.getpid():
            _State.pid, _State.current, _State.abandoned = os.getpid(), None, []
            threading.Thread(target=_watch, name="run-loop-watchdog", daemon=True).start()
        if _State.current is None:
            _State.current = RunLoop()
        return _State.current


def event_loop() -> asyncio.AbstractEventLoop:
    return current().loop


def submit(coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
    return current().submit(coro)


def run(coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
    """Run a coroutine on the process loop and wait for its result from a (non-loop) thread."""
    return submit(coro).result(timeout)


def _watch() -> None:
    """Every WATCH_INTERVAL_SECS: ask the loop to check in, and abandon it when it has not for too long."""
    last_wall, last_cpu = time.monotonic(), time.process_time()
    while True:
        time.sleep(WATCH_INTERVAL_SECS)
        wall, cpu = time.monotonic(), time.process_time()
        overshoot = wall - last_wall - WATCH_INTERVAL_SECS
        paused = overshoot > PAUSE_TOLERANCE_SECS and cpu - last_cpu < overshoot / 2
        last_wall, last_cpu = wall, cpu
        run_loop = _State.current
        if run_loop is None:
            continue
        if paused:
            run_loop.beat()  # the whole process stood still, not the loop alone: not the graph's doing
        elif wall - run_loop.last_beat > settings.BG_JOB_LOOP_BLOCKED_SECS:
            _abandon(run_loop, wall - run_loop.last_beat)
            continue
        run_loop.loop.call_soon_threadsafe(run_loop.beat)


def _abandon(run_loop: RunLoop, seconds: float) -> None:
    blockage = _blocked_by(run_loop, seconds)
    with _State.lock:
        if _State.current is run_loop:
            _State.current = None
        _State.abandoned = [old for old in _State.abandoned if old.thread.is_alive()] + [run_loop]
        stuck = len(_State.abandoned)
    logger.error(
        "the run loop was blocked for %.1fs by run %s, node %s, at %s: its runs are ended or moved to a fresh loop",
        seconds,
        blockage.run_id or "(unknown)",
        blockage.node or "(unknown)",
        blockage.where or "(unknown)",
    )
    run_loop.abandon(blockage)
    if stuck >= MAX_STUCK_LOOPS and not _State.gave_up:
        _State.gave_up = True
        logger.critical("%d run loops are stuck in blocking calls: stopping this worker to be restarted", stuck)
        os.kill(os.getpid(), signal.SIGTERM)


def _blocked_by(run_loop: RunLoop, seconds: float) -> Blockage:
    task = asyncio.current_task(run_loop.loop)
    frame = sys._current_frames().get(run_loop.thread.ident)
    where = f"{frame.f_code.co_name} ({os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno})" if frame else None
    return Blockage(seconds, getattr(task, "run_id", None), getattr(task, "node", None), where)


def begin_shutdown() -> None:
    """Called on warm shutdown: running runs get BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS, then are released."""
    if _State.shutdown_at is None:
        _State.shutdown_at = time.monotonic()


def seconds_since_shutdown() -> float | None:
    return None if _State.shutdown_at is None else time.monotonic() - _State.shutdown_at
