"""Readers of the stream logs: each client (SSE response or websocket) owns a cursor into the logs that
agentplatform.stream_log keeps in Redis Streams.

A reader never slows the worker: the worker only appends; a slow client just lags behind in the log.
Redis may lose a log (expiry, restart), so a reader also watches the run's row in Postgres and stops once the
run is over, replaying what Postgres knows (the output or the error) when the log is gone.

`RunLogReader` follows one run until its done control entry. `ThreadLogReader` follows every current and future
run of a thread, plus the thread's own log (state updates), and turns each run's done entry into the official
`metadata {"status": "run_done", "run_id": ...}` event.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from django.db.models import Q
from redis.exceptions import RedisError

from access.users import AuthUser
from agentplatform import serde, stream_log
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import InvalidInput, NotFound
from runs import selectors
from runs.models import Run
from runs.stream_events import requested

START = stream_log.START
# How often an idle reader asks Postgres whether its run is over (or a thread has new runs).
CHECK_INTERVAL_SECONDS = 1.0
# After Postgres says a run ended, how long to wait for its done entry before trusting Postgres alone.
DONE_GRACE_SECONDS = 2.0
_STREAM_ID = re.compile(r"^\d+(-(\d+|\*))?$")
THREAD_STREAM_MODES = ("run_modes", "lifecycle", "state_update")
# A thread reader learns of new runs by asking Postgres, so it wakes up more often while idle.
THREAD_BLOCK_MS = 500


@dataclass(frozen=True)
class LogEvent:
    id: str | None
    event: str
    data: bytes


def parse_last_event_id(value: str | None) -> str | None:
    """Last-Event-ID -> the cursor to read after; None means "live only". `-` and `-1` replay everything."""
    if not value:
        return None
    value = value.strip()
    if value in ("-", "-1", "0"):
        return START
    if not _STREAM_ID.match(value) or any(int(part) >= 2**64 for part in value.split("-") if part.isdigit()):
        raise InvalidInput("Invalid last-event-id: must be a valid Redis stream ID")
    return value.replace("-*", "-0")


async def log_run_start(run: Run) -> None:
    """Log the run's start from the API, so a create-and-stream client's first event need not wait for a worker.

    Best effort: if Redis is away now, the worker writes the start when it picks the run up.
    """
    try:
        await stream_log.append_start(run.run_id, 1)
    except RedisError:
        pass


@in_worker_thread
def run_row(run_id: uuid.UUID, thread_id: uuid.UUID | None, *, user: AuthUser | None = None) -> Run | None:
    """The run (of that thread, if given) as `user` may read it, or None: a stream reports a missing run (or
    another user's) instead of failing."""
    if thread_id is None:
        return selectors.run_get_by_id(run_id=run_id, user=user)
    try:
        return selectors.run_get(thread_id=thread_id, run_id=run_id, user=user)
    except NotFound:
        return None


def run_is_resumable(run: Run) -> bool:
    kwargs = run.kwargs or {}
    return bool(kwargs.get("resumable", kwargs.get("stream_resumable", False)))


def _fallback_events(run: Run, stream_modes: list[str]) -> list[LogEvent]:
    """What Postgres can still tell a client whose log is gone: the error, or the final values."""
    if run.status == Run.Status.ERROR:
        error = run.error if isinstance(run.error, dict) else {"error": "Error", "message": str(run.error)}
        return [LogEvent(None, "error", serde.dumps(error))]
    if run.output is not None and requested("values", stream_modes or ["values"]):
        return [LogEvent(None, "values", serde.dumps(run.output))]
    return []


@dataclass
class RunLogReader:
    """Reads one run's log from `cursor` until the run's done entry (or until Postgres says it is over)."""

    run: Run
    stream_modes: list[str]
    cursor: str
    replaying: bool
    done: bool = False
    key: str = ""
    _checked_at: float = field(default_factory=time.monotonic)
    _ended_at: float | None = None
    # Events to send before stopping, when the log is gone and Postgres tells the ending.
    _fallback: list[LogEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = stream_log.run_stream_key(self.run.run_id)

    @classmethod
    async def open(cls, run: Run, *, last_event_id: str | None, stream_modes: list[str] | None = None) -> RunLogReader:
        """From the start of the log (`last_event_id="0-0"`), after an id, or, with None, from now on."""
        modes = stream_modes or []
        if last_event_id is not None:
            reader = cls(run, modes, last_event_id, replaying=True)
            if run.status in Run.TERMINAL and not await stream_log.exists(reader.key):
                reader.done, reader._fallback = True, _fallback_events(run, modes)
            return reader
        last, event = await stream_log.last_entry(stream_log.run_stream_key(run.run_id))
        reader = cls(run, modes, last, replaying=False)
        # A finished run has nothing live left: the official server closes the stream at once.
        reader.done = event == stream_log.DONE_EVENT or (event is None and run.status in Run.TERMINAL)
        return reader

    def _take(self, rows: list[stream_log.Entry]) -> list[LogEvent]:
        events = []
        for entry_id, event, data in rows:
            self.cursor = entry_id
            if event == stream_log.DONE_EVENT:
                self.done = True
                break
            if requested(event, self.stream_modes):
                events.append(LogEvent(entry_id, event, data))
        return events

    async def read(self, block_ms: int) -> list[LogEvent] | None:
        """The next events (possibly none after `block_ms`), or None once the run's stream is over."""
        if self._fallback:
            events, self._fallback = self._fallback, []
            return events
        if self.done:
            return None
        rows = await stream_log.read_after(self.key, self.cursor, block_ms)
        if rows:
            return self._take(rows)
        return await self._check_run()

    async def _check_run(self) -> list[LogEvent]:
        now = time.monotonic()
        if now - self._checked_at < CHECK_INTERVAL_SECONDS:
            return []
        self._checked_at = now
        run = await run_row(self.run.run_id, None)
        if run is None:
            self.done = True  # deleted (e.g. rollback): nothing more will come
            return []
        if run.status not in Run.TERMINAL:
            return []
        if await stream_log.exists(self.key):
            # The worker commits the status and appends the done entry one after the other: give it a moment.
            self._ended_at = self._ended_at or now
            if now - self._ended_at < DONE_GRACE_SECONDS:
                return []
            self.done = True
            return []
        self.done = True
        return _fallback_events(run, self.stream_modes) if self.replaying else []


def parse_thread_stream_modes(values: list[str]) -> list[str]:
    """`stream_modes` (official) or `stream_mode` (what the SDK sends), comma-separated and/or repeated."""
    modes = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for mode in modes:
        if mode not in THREAD_STREAM_MODES:
            raise InvalidInput(f"Invalid stream mode: {mode}")
    return modes or ["run_modes"]


def _thread_event_wanted(event: str, data: bytes, stream_modes: list[str]) -> bool:
    """The official thread-stream filter: run events, lifecycle metadata, and/or state updates."""
    if event == "state_update":
        return "state_update" in stream_modes
    if "run_modes" in stream_modes:
        return True
    if "lifecycle" in stream_modes and event == "metadata":
        try:
            body = orjson.loads(data)
        except ValueError:
            return False
        return body.get("status") == "run_done" or ("run_id" in body and "attempt" in body)
    return False


_MAX_ID_MS = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000)


def _id_time(entry_id: str) -> datetime:
    # A client's Last-Event-ID may hold any 64-bit time; beyond datetime's range it simply means "the far future".
    return datetime.fromtimestamp(min(int(entry_id.split("-")[0]), _MAX_ID_MS) / 1000, tz=UTC)


@in_worker_thread
def _thread_runs(thread_id: uuid.UUID, since: datetime, known: set) -> list[tuple[uuid.UUID, str]]:
    """Runs of the thread a reader does not follow yet: in flight, or created since `since` (newest 100)."""
    rows = (
        Run.objects.filter(thread_id=thread_id)
        .filter(Q(status__in=Run.IN_FLIGHT) | Q(created_at__gte=since) | Q(ended_at__gte=since))
        .exclude(run_id__in=known)
        .order_by("-created_at")
        .values_list("run_id", "status")[:100]
    )
    return list(rows)


@dataclass
class ThreadLogReader:
    """Follows every run of a thread (each run's log with its own cursor) and the thread's own log."""

    thread_id: uuid.UUID
    stream_modes: list[str]
    since: datetime
    cursors: dict[str, str] = field(default_factory=dict)
    runs_by_key: dict[str, uuid.UUID] = field(default_factory=dict)
    known_runs: set = field(default_factory=set)
    replay_from: str | None = None
    _checked_at: float = 0.0

    @classmethod
    async def open(cls, thread_id: uuid.UUID, *, last_event_id: str | None, stream_modes: list[str]) -> ThreadLogReader:
        thread_key = stream_log.thread_stream_key(thread_id)
        if last_event_id is not None:
            since = _id_time(last_event_id) - timedelta(minutes=5) if last_event_id != START else datetime.min
            reader = cls(thread_id, stream_modes, since.replace(tzinfo=UTC), replay_from=last_event_id)
            reader.cursors[thread_key] = last_event_id
        else:
            reader = cls(thread_id, stream_modes, datetime.now(UTC))
            reader.cursors[thread_key] = (await stream_log.last_entry(thread_key))[0]
        await reader._refresh(initial=True)
        return reader

    async def _refresh(self, *, initial: bool = False) -> None:
        """Start following runs that appeared since the last look (a new run is read from its beginning)."""
        self._checked_at = time.monotonic()
        for run_id, status in await _thread_runs(self.thread_id, self.since, self.known_runs):
            self.known_runs.add(run_id)
            key = stream_log.run_stream_key(run_id)
            if self.replay_from is not None:
                cursor = self.replay_from
            elif initial and status in Run.IN_FLIGHT:
                cursor, event = await stream_log.last_entry(key)  # joined mid-run: only what comes next
                if event == stream_log.DONE_EVENT:
                    continue
            else:
                cursor = START
            if status in Run.TERMINAL and not await stream_log.exists(key):
                continue
            self.cursors[key] = cursor
            self.runs_by_key[key] = run_id

    async def read(self, block_ms: int) -> list[LogEvent]:
        entries = await stream_log.read_many_after(self.cursors, min(block_ms, THREAD_BLOCK_MS))
        if not entries:
            if time.monotonic() - self._checked_at >= THREAD_BLOCK_MS / 1000:
                await self._refresh()
            return []
        return await self._take(entries)

    async def _take(self, entries: list[tuple[str, str, str, bytes]]) -> list[LogEvent]:
        events, finished = [], False
        for key, entry_id, event, data in entries:
            if key not in self.cursors:
                continue
            self.cursors[key] = entry_id
            if event == stream_log.DONE_EVENT:
                run_id = self.runs_by_key.pop(key)
                del self.cursors[key]
                event, data, finished = "metadata", serde.dumps({"status": "run_done", "run_id": str(run_id)}), True
            if _thread_event_wanted(event, data, self.stream_modes):
                events.append(LogEvent(entry_id, event, data))
        if finished:
            await self._refresh()  # an enqueued run may start right after this one
        return events
