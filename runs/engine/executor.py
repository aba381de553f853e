"""Execute one attempt of a run on the worker's event loop: graph stream -> the run's stream log -> an Outcome.

This module knows nothing of Celery or the database rows: runs.engine.worker claims the run, hands a RunSpec here and
writes the Outcome back (fenced on its lease). Cancellation arrives through RunControl from another thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
import psycopg_pool
from django.conf import settings
from langgraph.errors import GraphRecursionError, InvalidUpdateError

from access.users import user_from_configurable
from agentplatform import serde, stream_log
from agentplatform.graphs import get_registry
from agentplatform.persistence import async_checkpointer
from runs.engine.outcomes import Ending, Outcome
from runs.streams.stream_events import requested, stream_graph
from store.backend import store_for_async
from threads.state import command_from_json, interrupt_to_dict, interrupts_by_task

logger = logging.getLogger(__name__)

# Failures of the infrastructure, not of the graph: the attempt is released and retried from its last checkpoint.
RETRIABLE_ERRORS = (psycopg.OperationalError, psycopg_pool.PoolTimeout, ConnectionError)
# Error messages of these types reach clients as they are; others are masked like the official server does.
_PUBLIC_ERRORS = (ValueError, TypeError, KeyError, RuntimeError, TimeoutError, GraphRecursionError, InvalidUpdateError)
_MASKED_MESSAGE = "An internal error occurred"


@dataclass(frozen=True)
class RunSpec:
    run_id: UUID
    thread_id: UUID
    assistant_id: UUID
    attempt: int
    kwargs: dict
    temporary: bool = False

    @property
    def graph_id(self) -> str:
        return self.kwargs["config"]["configurable"]["graph_id"]


class CancelReason(StrEnum):
    """Why the worker stops an attempt. The first two are the API's cancel actions (Run.cancel_action)."""

    INTERRUPT = "interrupt"
    ROLLBACK = "rollback"
    LEASE_LOST = "lease_lost"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"


# How a cancelled attempt ends; a shutdown (or a cancel from nowhere) gives the run back to be resumed.
_CANCEL_ENDINGS = {
    CancelReason.INTERRUPT: Ending.INTERRUPTED,
    CancelReason.ROLLBACK: Ending.ROLLBACK,
    CancelReason.LEASE_LOST: Ending.LEASE_LOST,
}


class RunControl:
    """Lets the worker thread cancel the attempt; the first reason wins."""

    def __init__(self) -> None:
        self.reason: CancelReason | None = None
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def cancel(self, reason: CancelReason | str) -> None:
        """Cancel once: a second cancel could interrupt the graph's own clean-up of the first."""
        with self._lock:
            if self.reason is not None:
                return
            self.reason = CancelReason(reason)
            loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._cancel_task)

    def attach(self, task: asyncio.Task) -> None:
        with self._lock:
            self._task, self._loop = task, asyncio.get_running_loop()
            cancelled_already = self.reason is not None
        if cancelled_already:
            task.cancel()

    def _cancel_task(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


def error_payload(exc: BaseException) -> dict:
    message = str(exc) if isinstance(exc, _PUBLIC_ERRORS) else _MASKED_MESSAGE
    return {"error": type(exc).__name__, "message": message}


def graph_config(spec: RunSpec) -> dict:
    """The RunnableConfig of an attempt: the run's stored config plus the ids LangGraph needs to resume it."""
    config = dict(spec.kwargs.get("config") or {})
    config["configurable"] = dict(config.get("configurable") or {})
    # The same run_id in metadata makes a retried attempt resume its own checkpoints instead of restarting.
    config["metadata"] = {**(config.get("metadata") or {}), "run_id": str(spec.run_id)}
    return config


def graph_input(kwargs: dict) -> Any:
    """The run's `command` as a langgraph Command (its `input` is then ignored), else its `input`."""
    command = kwargs.get("command")
    return command_from_json(command) if command else kwargs.get("input")


class _RunLog:
    """Appends to the run's stream log. Best effort: Postgres has the run's ending even if Redis is away."""

    def __init__(self, run_id: UUID) -> None:
        self.run_id = run_id
        self.key = stream_log.run_stream_key(run_id)
        self.failed = False

    async def start(self, attempt: int) -> None:
        await self._best_effort(stream_log.append_start(self.run_id, attempt))

    async def publish(self, event: str, data: Any) -> None:
        await self._best_effort(stream_log.append(self.key, event, data))

    async def _best_effort(self, write: Awaitable[Any]) -> None:
        try:
            await write
        except Exception:
            if not self.failed:  # one warning per attempt, not one per token
                logger.warning("cannot append to the stream log %s", self.key, exc_info=True)
            self.failed = True


class _Attempt:
    """The mutable record of what the graph emitted so far."""

    def __init__(self, spec: RunSpec) -> None:
        self.log = _RunLog(spec.run_id)
        self.last_values: Any = None
        self.interrupts: list = []

    def observe(self, event: str, chunk: Any) -> None:
        if event != "values":
            return
        if isinstance(chunk, dict) and "__interrupt__" in chunk:
            self.interrupts.extend(serde.to_jsonable([interrupt_to_dict(i) for i in chunk["__interrupt__"]]))
            rest = {k: v for k, v in chunk.items() if k != "__interrupt__"}
            if rest:
                self.last_values = rest
        else:
            self.last_values = chunk

    def result(self) -> Any:
        """The /wait body (api-surface §2.9): the final values, plus the interrupts if the graph paused."""
        values = serde.to_jsonable(self.last_values) if self.last_values is not None else {}
        if self.interrupts:
            return {**(values if isinstance(values, dict) else {}), "__interrupt__": self.interrupts}
        return values


async def execute(spec: RunSpec, control: RunControl) -> Outcome:
    """Run one attempt to its end. Never raises: every ending is described by the Outcome."""
    attempt = _Attempt(spec)
    await attempt.log.start(spec.attempt)
    config = graph_config(spec)
    try:
        checkpointer = None if spec.temporary else await async_checkpointer()
        await _resume_own_checkpoints(spec, config, checkpointer)
        async with get_registry().agraph(
            spec.graph_id,
            config,
            checkpointer=checkpointer,
            store=await store_for_async(),
            user=user_from_configurable(config["configurable"]),
            context=spec.kwargs.get("context"),
        ) as graph:
            outcome = await _drive(spec, control, graph, config, attempt)
            if checkpointer is None or outcome.status in (Ending.ROLLBACK, Ending.LEASE_LOST, Ending.RELEASE):
                return outcome
            if not _state_known_from_stream(spec, attempt, outcome):
                await _read_thread_state(graph, config, outcome)
            return outcome
    except Exception as exc:  # noqa: BLE001 - building the graph failed; report it like a graph error
        return await _failed(exc, attempt)


_CHECKPOINT_KEYS = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")


async def _resume_own_checkpoints(spec: RunSpec, config: dict, checkpointer: Any) -> None:
    """A retried fork (run from a checkpoint_id) continues from the checkpoints it already wrote, not the fork point."""
    if spec.attempt == 1 or checkpointer is None or "checkpoint_id" not in config["configurable"]:
        return
    own = checkpointer.alist(
        {"configurable": {"thread_id": str(spec.thread_id)}}, filter={"run_id": str(spec.run_id)}, limit=1
    )
    async for _ in own:
        for key in _CHECKPOINT_KEYS:
            config["configurable"].pop(key, None)
        return


async def _drive(spec: RunSpec, control: RunControl, graph: Any, config: dict, attempt: _Attempt) -> Outcome:
    task = asyncio.create_task(_consume(spec, graph, config, attempt))
    control.attach(task)
    done, _ = await asyncio.wait({task}, timeout=settings.BG_JOB_TIMEOUT_SECS)
    if not done:
        control.cancel(CancelReason.TIMEOUT)
    try:
        await task
    except asyncio.CancelledError:
        return await _cancelled(control.reason, attempt)
    except Exception as exc:  # noqa: BLE001 - any graph failure ends the run as error (or is retried)
        return await _failed(exc, attempt)
    return Outcome(Ending.SUCCESS, result=attempt.result())


async def _consume(spec: RunSpec, graph: Any, config: dict, attempt: _Attempt) -> None:
    kwargs = spec.kwargs
    modes = kwargs.get("stream_mode") or ["values"]
    events = stream_graph(
        graph,
        graph_input(kwargs),
        config,
        stream_modes=modes,
        subgraphs=bool(kwargs.get("subgraphs")),
        interrupt_before=kwargs.get("interrupt_before"),
        interrupt_after=kwargs.get("interrupt_after"),
        durability=kwargs.get("durability"),
        context=kwargs.get("context") or None,
    )
    async for event, chunk in events:
        attempt.observe(event, chunk)
        if requested(event, modes):
            await attempt.log.publish(event, serde.dumps(chunk))


async def _cancelled(reason: CancelReason | None, attempt: _Attempt) -> Outcome:
    if reason is CancelReason.TIMEOUT:
        error = {"error": "TimeoutError", "message": f"Run timed out after {settings.BG_JOB_TIMEOUT_SECS:g} seconds."}
        # Published before the status is written, so raw SSE clients see it even if that write fails.
        await attempt.log.publish("error", error)
        return Outcome(Ending.TIMEOUT, result={"__error__": error}, error=error)
    if reason in _CANCEL_ENDINGS:
        return Outcome(_CANCEL_ENDINGS[reason], result=attempt.result())
    return Outcome(Ending.RELEASE)


async def _failed(exc: Exception, attempt: _Attempt) -> Outcome:
    if isinstance(exc, RETRIABLE_ERRORS):
        logger.warning("run attempt failed on infrastructure, will retry: %r", exc)
        return Outcome(Ending.RELEASE)
    logger.info("run failed: %r", exc, exc_info=exc)
    error = error_payload(exc)
    await attempt.log.publish("error", error)
    return Outcome(Ending.ERROR, result={"__error__": error}, error=error)


def _state_known_from_stream(spec: RunSpec, attempt: _Attempt, outcome: Outcome) -> bool:
    """A run that completed without any interrupt left the thread at its last `values` chunk with nothing next:
    no need to read the checkpoint back (this saves a round trip on the /wait hot path)."""
    kwargs = spec.kwargs
    if outcome.status is not Ending.SUCCESS or attempt.interrupts or attempt.last_values is None:
        return False
    if kwargs.get("interrupt_before") or kwargs.get("interrupt_after"):
        return False
    outcome.values = serde.to_jsonable(attempt.last_values)
    outcome.has_next, outcome.interrupts, outcome.state_read = False, {}, True
    return True


async def _read_thread_state(graph, config: dict, outcome: Outcome) -> None:
    """The thread's values and interrupts after the attempt, from its latest checkpoint."""
    configurable = {k: v for k, v in config["configurable"].items() if k not in _CHECKPOINT_KEYS}
    try:
        state = await graph.aget_state({**config, "configurable": configurable})
    except Exception:
        logger.warning("could not read the thread state after the run", exc_info=True)
        return
    outcome.values = serde.to_jsonable(state.values)
    outcome.has_next = bool(state.next)
    if outcome.status is Ending.SUCCESS and outcome.result == {}:
        # A retried attempt that found its graph already finished streams nothing: answer with the state.
        outcome.result = outcome.values
    outcome.interrupts = interrupts_by_task(state)
    outcome.state_read = True
