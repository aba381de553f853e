"""Readers of the stream logs: each client (SSE response or websocket) owns a cursor into the logs that
agentplatform.stream_log keeps in Redis Streams.

A reader never slows the worker: the worker only appends; a slow client just lags behind in the log.
Redis may lose a log (expiry, restart), so a reader also watches the run's row in Postgres and stops once the
run is over, replaying what Postgres knows (the output or the error) when the log is gone. The readers of a
process share those checks (`_RowWatch`: one query a second for all of them), as they share the Redis
connection they wait on (agentplatform.stream_log).

`RunLogReader` follows one run until its done control entry. `ThreadLogReader` follows every current and future
run of a thread, plus the thread's own log (state updates, and the announcement of each new run), and turns
each run's done entry into the official `metadata {"status": "run_done", "run_id": ...}` event.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from access.users import AuthUser
from agentplatform import serde, stream_log
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import InvalidInput, NotFound
from agentplatform.lazy import PerLoop
from runs import selectors
from runs.models import Run
from runs.streams.stream_events import requested

logger = logging.getLogger(__name__)
START = stream_log.START
# How often the readers of a process ask Postgres (one query for all of them) whether their runs are over, and
# whether their threads have runs they were not told of.
CHECK_INTERVAL_SECONDS = 1.0
# How far back that check looks for runs of a thread that a reader may have missed.
RECENT_RUNS_SECONDS = 60.0
# After Postgres says a run ended, how long to wait for its done entry before trusting Postgres alone.
DONE_GRACE_SECONDS = 2.0
_STREAM_ID = re.compile(r"^\d+(-(\d+|\*))?$")
THREAD_STREAM_MODES = ("run_modes", "lifecycle", "state_update")
# Postgres has not been asked yet (see _RowWatch).
_UNKNOWN: Any = object()


@dataclass(frozen=True)
class LogEvent:
    id: str | None
    event: str
    data: bytes
    run_id: uuid.UUID | None = None  # the run of an entry, from a ThreadLogReader that keeps done entries


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


class _RowWatch:
    """What the readers of an event loop would each ask Postgres now and then, asked in one query for all of them
    every CHECK_INTERVAL_SECONDS: a reader watches one key (a run id, a thread id), `fetch(keys)` answers
    {key: value}, and `latest(reader)` is the last answer for its key (None: no row; _UNKNOWN: not asked yet).
    A reader stops being watched when it is gone (garbage), so a client that leaves needs no goodbye.
    """

    def __init__(self, fetch: Callable[[set], dict]) -> None:
        self._fetch = in_worker_thread(fetch)
        self._keys: weakref.WeakKeyDictionary[object, Any] = weakref.WeakKeyDictionary()
        self._latest: dict = {}
        self._task: asyncio.Task | None = None

    def watch(self, reader: object, key: Any) -> None:
        self._keys[reader] = key
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())

    def latest(self, reader: object) -> Any:
        return self._latest.get(self._keys.get(reader), _UNKNOWN)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        while keys := set(self._keys.values()):
            try:
                found = await self._fetch(keys)
            except Exception:  # Postgres away: keep what was known, ask again later
                logger.warning("stream readers could not ask Postgres about their runs", exc_info=True)
            else:
                self._latest = {key: found.get(key) for key in keys}
            await asyncio.sleep(CHECK_INTERVAL_SECONDS)


def _chunks(keys: Collection, size: int = 5000) -> list[list]:
    ordered = list(keys)
    return [ordered[at : at + size] for at in range(0, len(ordered), size)]


def _run_statuses(run_ids: set) -> dict[uuid.UUID, str]:
    return {
        run_id: status
        for chunk in _chunks(run_ids)
        for run_id, status in Run.objects.filter(run_id__in=chunk).values_list("run_id", "status")
    }


def _recent_runs(thread_ids: set) -> dict[uuid.UUID, frozenset]:
    """Per thread, its runs in flight or created or ended in the last RECENT_RUNS_SECONDS."""
    since = timezone.now() - timedelta(seconds=RECENT_RUNS_SECONDS)
    recent: dict[uuid.UUID, set] = {}
    for chunk in _chunks(thread_ids):
        rows = (
            Run.objects.filter(thread_id__in=chunk)
            .filter(Q(status__in=Run.IN_FLIGHT) | Q(created_at__gte=since) | Q(ended_at__gte=since))
            .values_list("thread_id", "run_id")
        )
        for thread_id, run_id in rows:
            recent.setdefault(thread_id, set()).add(run_id)
    return {thread_id: frozenset(runs) for thread_id, runs in recent.items()}


def _watching(fetch: Callable[[set], dict]) -> PerLoop[_RowWatch]:
    async def build() -> _RowWatch:
        return _RowWatch(fetch)

    return PerLoop(build, lambda watch: watch.close())


# The fetch functions are looked up when a loop's watch is built, so tests may replace them.
_run_watches = _watching(lambda run_ids: _run_statuses(run_ids))
_thread_watches = _watching(lambda thread_ids: _recent_runs(thread_ids))


class RunCheck:
    """A run's status as the process's shared Postgres check last saw it, for as long as this object lives."""

    def __init__(self, watch: _RowWatch) -> None:
        self._watch = watch

    @classmethod
    async def open(cls, run_id: uuid.UUID) -> RunCheck:
        check = cls(await _run_watches.get())
        check._watch.watch(check, run_id)
        return check

    def status(self) -> str | None:
        """The status at the last check (pending until the first one), None once the run is deleted."""
        latest = self._watch.latest(self)
        return Run.Status.PENDING if latest is _UNKNOWN else latest


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
    _check: RunCheck | None = None
    _ended_at: float | None = None
    # Events to send before stopping, when the log is gone and Postgres tells the ending.
    _fallback: list[LogEvent] = field(default_factory=list)

    @classmethod
    async def open(cls, run: Run, *, last_event_id: str | None, stream_modes: list[str] | None = None) -> RunLogReader:
        """From the start of the log (`last_event_id="0-0"`), after an id, or, with None, from now on."""
        modes = stream_modes or []
        if last_event_id is not None:
            reader = cls(run, modes, last_event_id, replaying=True)
            if run.status in Run.TERMINAL and not await stream_log.exists(reader.key):
                reader.done, reader._fallback = True, _fallback_events(run, modes)
        else:
            last, event = await stream_log.last_entry(stream_log.run_stream_key(run.run_id))
            reader = cls(run, modes, last, replaying=False)
            # A finished run has nothing live left: the official server closes the stream at once.
            reader.done = event == stream_log.DONE_EVENT or (event is None and run.status in Run.TERMINAL)
        if not reader.done:
            reader._check = await RunCheck.open(run.run_id)
        return reader

    def __post_init__(self) -> None:
        self.key = stream_log.run_stream_key(self.run.run_id)

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
        status = self._check.status() if self._check is not None else Run.Status.PENDING
        if status in Run.IN_FLIGHT:
            return []
        self.done = True
        if status is None:
            return []  # deleted (e.g. rollback): nothing more will come
        if await stream_log.exists(self.key):
            # The worker commits the status and appends the done entry one after the other: give it a moment.
            self._ended_at = self._ended_at or time.monotonic()
            self.done = time.monotonic() - self._ended_at >= DONE_GRACE_SECONDS
            return []
        run = await run_row(self.run.run_id, None) if self.replaying else None
        return _fallback_events(run, self.stream_modes) if run is not None else []


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


@dataclass(eq=False)
class ThreadLogReader:
    """Follows every run of a thread (each run's log with its own cursor) and the thread's own log.

    New runs are announced on the thread's log (stream_log.RUN_CREATED_EVENT); the process's shared Postgres
    check finds any run whose announcement Redis lost.
    """

    thread_id: uuid.UUID
    stream_modes: list[str]
    since: datetime
    cursors: dict[str, str] = field(default_factory=dict)
    runs_by_key: dict[str, uuid.UUID] = field(default_factory=dict)
    known_runs: set = field(default_factory=set)
    replay_from: str | None = None
    # Hand each run's done entry over as it is rather than as `metadata run_done`, and every entry with its run id.
    keep_done: bool = False
    _watch: _RowWatch | None = None

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
        reader._watch = await _thread_watches.get()
        reader._watch.watch(reader, thread_id)
        return reader

    async def _refresh(self, *, initial: bool = False) -> None:
        """Start following runs that appeared since the last look (a new run is read from its beginning)."""
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
        await self._catch_up()
        return self._take(await stream_log.read_many_after(self.cursors, block_ms))

    async def _catch_up(self) -> None:
        """Follow the runs Postgres knows of that no announcement brought (Redis lost it, or was away)."""
        recent = self._watch.latest(self) if self._watch is not None else None
        if recent is _UNKNOWN or recent is None or recent <= self.known_runs:
            return
        await self._refresh()
        self.known_runs |= recent  # those it still does not follow ended before it opened, or lost their log

    def _follow(self, data: bytes) -> None:
        """An announced run, read from its beginning (or from the replay's cursor, as `_refresh` does)."""
        try:
            run_id = uuid.UUID(orjson.loads(data)["run_id"])
        except (ValueError, KeyError, TypeError):
            return
        if run_id in self.known_runs:
            return
        self.known_runs.add(run_id)
        key = stream_log.run_stream_key(run_id)
        self.cursors[key] = self.replay_from if self.replay_from is not None else START
        self.runs_by_key[key] = run_id

    def _take(self, entries: list[stream_log.KeyedEntry]) -> list[LogEvent]:
        events = []
        for key, entry_id, event, data in entries:
            if key not in self.cursors:
                continue
            self.cursors[key] = entry_id
            if event == stream_log.RUN_CREATED_EVENT:
                self._follow(data)
                continue
            if event == stream_log.DONE_EVENT:
                run_id = self.runs_by_key.pop(key)
                del self.cursors[key]
                if self.keep_done:
                    events.append(LogEvent(entry_id, event, data, run_id))
                    continue
                event, data = "metadata", serde.dumps({"status": "run_done", "run_id": str(run_id)})
            if _thread_event_wanted(event, data, self.stream_modes):
                events.append(LogEvent(entry_id, event, data, self.runs_by_key.get(key) if self.keep_done else None))
        return events
