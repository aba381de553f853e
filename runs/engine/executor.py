"""Execute one attempt of a run on the worker's event loop: graph stream -> the run's stream log -> an Outcome.

This module knows nothing of Celery or the database rows: runs.engine.worker claims the run, hands a RunSpec here and
writes the Outcome back (fenced on its lease). Cancellation arrives through RunControl from another thread. The
attempt's own writes are fenced too: its checkpoint writes check the spec's WriteFence, its events are appended
for its attempt number, and either refusal (StaleAttemptError: another attempt owns the run) ends it writing
nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
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
from agentplatform.errors import StaleAttemptError
from agentplatform.graphs import get_registry
from agentplatform.persistence import WriteFence, async_checkpointer, before_checkpoint_writes, fence_checkpoint_writes
from runs.engine.outcomes import Ending, Outcome
from runs.streams.protocol_events import is_protocol_run, protocol_stream
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
    fence: WriteFence | None = None  # what the attempt's checkpoint writes check (runs.engine.leases.checkpoint_fence)

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


# A cancelled attempt still running this long after its cancel is cancelled again (see RunControl.cancel).
RECANCEL_SECS = 3.0
# An attempt that lost its lease has no clean-up worth waiting for (its writes are fenced): cancelled again soon.
# psycopg spends up to 5 s cancelling a query on its server, and on a cut network that kept the host's attempt
# alive past the takeover.
LOST_RECANCEL_SECS = 0.5


class RunControl:
    """Lets the worker thread cancel the attempt; the first reason wins."""

    def __init__(self) -> None:
        self.reason: CancelReason | None = None
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cancelled_at = 0.0
        self.on_lease_lost: Callable[[], None] | None = None  # run on the attempt's loop before its cancel

    def cancel(self, reason: CancelReason | str) -> None:
        """Cancel the task. A repeat within RECANCEL_SECS does nothing (it could interrupt the graph's own
        clean-up of the first); a later one cancels again, because a cancellation can be swallowed on its way
        through LangGraph and its libraries (seen under a storm of cancels), and the run must stop anyway."""
        now = time.monotonic()
        with self._lock:
            if self.reason is None:
                self.reason = CancelReason(reason)
            elif now - self._cancelled_at < self._recancel_secs():
                return
            else:
                logger.warning(
                    "an attempt still runs %.1fs after its cancel (%s): cancelling it again",
                    now - self._cancelled_at,
                    self.reason,
                )
            self._cancelled_at = now
            loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._cancel_task)

    def _recancel_secs(self) -> float:
        return LOST_RECANCEL_SECS if self.reason is CancelReason.LEASE_LOST else RECANCEL_SECS

    def attach(self, task: asyncio.Task) -> None:
        with self._lock:
            self._task, self._loop = task, asyncio.get_running_loop()
            cancelled_already = self.reason is not None
        if cancelled_already:
            task.cancel()

    def _cancel_task(self) -> None:
        if self.reason is CancelReason.LEASE_LOST and self.on_lease_lost is not None:
            self.on_lease_lost()
        if self._task is not None and not self._task.done():
            self._task.cancel()


def error_payload(exc: BaseException) -> dict:
    message = str(exc) if isinstance(exc, _PUBLIC_ERRORS) else _MASKED_MESSAGE
    return {"error": type(exc).__name__, "message": message}


def timeout_outcome() -> Outcome:
    """The ending of a run past BG_JOB_TIMEOUT_SECS."""
    error = {"error": "TimeoutError", "message": f"Run timed out after {settings.BG_JOB_TIMEOUT_SECS:g} seconds."}
    return Outcome(Ending.TIMEOUT, result={"__error__": error}, error=error)


def graph_config(spec: RunSpec) -> dict:
    """The RunnableConfig of an attempt: the run's stored config plus the ids LangGraph needs to resume it."""
    config = dict(spec.kwargs.get("config") or {})
    config["configurable"] = configurable = dict(config.get("configurable") or {})
    if configurable.get("langgraph_auth_user"):
        # Stored as JSON; graphs get the user as officially, readable as user["identity"] and user.identity.
        configurable["langgraph_auth_user"] = user_from_configurable(configurable)
    # The same run_id in metadata makes a retried attempt resume its own checkpoints instead of restarting; the
    # attempt is recorded in each checkpoint's metadata as officially.
    config["metadata"] = {**(config.get("metadata") or {}), "run_id": str(spec.run_id), "run_attempt": spec.attempt}
    return config


def graph_input(kwargs: dict) -> Any:
    """The run's `command` as a langgraph Command (its `input` is then ignored), else its `input`."""
    command = kwargs.get("command")
    return command_from_json(command) if command else kwargs.get("input")


# Events the graph emits while an append is in flight wait for the next append, which takes them all in one call
# (a token stream under load: one round trip for many tokens). Past _MAX_QUEUED_EVENTS the graph waits for the
# appends, so a slow Redis slows the graph down instead of filling the worker's memory.
_MAX_BATCH = 128
_MAX_QUEUED_EVENTS = 512


class _RunLog:
    """Appends the attempt's events to the run's stream log, in order. Best effort: Postgres has the run's ending
    even if Redis is away. A refusal (a later attempt owns the log) is not swallowed: it ends the attempt, raised
    by the next `publish` or by `flush`."""

    def __init__(self, run_id: UUID, attempt: int) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.key = stream_log.run_stream_key(run_id)
        self.failed = False
        self._queued: list[tuple[str, Any]] = []
        self._writer: asyncio.Task | None = None
        self._refused: StaleAttemptError | None = None

    async def start(self) -> None:
        await self._best_effort(stream_log.append_start(self.run_id, self.attempt))

    async def publish(self, event: str, data: Any) -> None:
        """Queue the event: appended at once when no append is in flight, else with the next one."""
        if self._refused is not None:
            raise self._refused
        self._queued.append((event, data))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        elif len(self._queued) >= _MAX_QUEUED_EVENTS:
            await self.flush()

    async def flush(self) -> None:
        """Wait until every queued event is appended; raises StaleAttemptError if the log refused them."""
        while self._writer is not None:
            await asyncio.shield(self._writer)  # a cancelled attempt still appends what it emitted
        if self._refused is not None:
            raise self._refused

    def abandon(self) -> None:
        """Drop what is not appended yet and stop the append in flight. For an attempt that lost its lease: its
        events are not its to write, and with the network cut an append waits on a dead socket, which kept the
        attempt alive seconds past its takeover."""
        self._queued.clear()
        if self._writer is not None:
            self._writer.cancel()

    async def _write(self) -> None:
        try:
            while self._queued and self._refused is None:
                batch, self._queued = self._queued[:_MAX_BATCH], self._queued[_MAX_BATCH:]
                try:
                    await self._best_effort(stream_log.append_attempt_batch(self.run_id, self.attempt, batch))
                except StaleAttemptError as exc:
                    self._refused = exc
        finally:
            self._writer = None

    async def _best_effort(self, write: Awaitable[Any]) -> None:
        try:
            await write
        except StaleAttemptError:
            raise
        except Exception:
            if not self.failed:  # one warning per attempt, not one per token
                logger.warning("cannot append to the stream log %s", self.key, exc_info=True)
            self.failed = True


class _Attempt:
    """The mutable record of what the graph emitted so far."""

    def __init__(self, spec: RunSpec) -> None:
        self.log = _RunLog(spec.run_id, spec.attempt)
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
    fence_checkpoint_writes(spec.fence)  # for this task and every task the graph starts
    attempt = _Attempt(spec)
    before_checkpoint_writes(attempt.log.flush)  # a step's events reach the log before its checkpoint
    # A checkpoint write waiting for appends on a cut network would hold the cancel up: they are dropped first.
    control.on_lease_lost = attempt.log.abandon
    outcome = await _attempt_outcome(spec, control, attempt)
    # The lease's loss decides, whatever ending the attempt reached: a cancel can be swallowed inside the graph,
    # which then ends on the cut database's error instead.
    if outcome.status is Ending.LEASE_LOST or control.reason is CancelReason.LEASE_LOST:
        attempt.log.abandon()
        return outcome
    try:
        await attempt.log.flush()  # every event is in the log before the worker writes the ending
    except StaleAttemptError:
        pass  # the ending is not ours to report: the worker's fenced status write will say so
    return outcome


async def _attempt_outcome(spec: RunSpec, control: RunControl, attempt: _Attempt) -> Outcome:
    config = graph_config(spec)
    try:
        await attempt.log.start()
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
    if is_protocol_run(kwargs):
        return await _consume_protocol(spec, graph, config, attempt)
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
    await attempt.log.flush()  # a refusal of the last events ends the attempt as any refusal does


async def _consume_protocol(spec: RunSpec, graph: Any, config: dict, attempt: _Attempt) -> None:
    """A thread-centric run (runs.streams.protocol_events): LangGraph's protocol events, one log entry each."""
    kwargs = spec.kwargs
    entries = protocol_stream(
        graph,
        graph_input(kwargs),
        config,
        graph_name=spec.graph_id,
        interrupt_before=kwargs.get("interrupt_before"),
        interrupt_after=kwargs.get("interrupt_after"),
        durability=kwargs.get("durability"),
        context=kwargs.get("context") or None,
    )
    async for entry in entries:
        if entry.has_state:
            attempt.observe("values", entry.state)
        if entry.name:
            await attempt.log.publish(entry.name, serde.dumps(entry.params))
    await attempt.log.flush()


async def _cancelled(reason: CancelReason | None, attempt: _Attempt) -> Outcome:
    if reason is CancelReason.TIMEOUT:
        outcome = timeout_outcome()
        # Published before the status is written, so raw SSE clients see it even if that write fails.
        await _publish_error(attempt, outcome.error)
        return outcome
    if reason in _CANCEL_ENDINGS:
        return Outcome(_CANCEL_ENDINGS[reason], result=attempt.result())
    return Outcome(Ending.RELEASE)


async def _failed(exc: Exception, attempt: _Attempt) -> Outcome:
    if isinstance(exc, StaleAttemptError):
        logger.warning("run %s attempt %s superseded: %s", attempt.log.run_id, attempt.log.attempt, exc)
        return Outcome(Ending.LEASE_LOST)
    if isinstance(exc, RETRIABLE_ERRORS):
        logger.warning("run attempt failed on infrastructure, will retry: %r", exc)
        return Outcome(Ending.RELEASE)
    logger.info("run failed: %r", exc, exc_info=exc)
    error = error_payload(exc)
    await _publish_error(attempt, error)
    return Outcome(Ending.ERROR, result={"__error__": error}, error=error)


async def _publish_error(attempt: _Attempt, error: dict | None) -> None:
    try:
        await attempt.log.publish("error", error)
    except StaleAttemptError:
        pass  # the ending is not ours to report: the worker's fenced status write will say so


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
