"""Readers of a thread's event stream in the thread-centric protocol (`POST /threads/{id}/stream/events`, SSE or
websocket): the wire events of every run of the thread, filtered by a subscription.

A reader rides on runs.streams.stream_reader.ThreadLogReader (every run's log, and the thread's own log that
announces new runs) and keeps no state a reconnect would need: each wire event is one log entry, so its `seq` is
computed from the entry id (`<ms>-<n>` -> ms * SEQ_SCALE + n; under 2**53, so JavaScript clients read it exactly)
and a client's `since` converts back to the log position to read after. Any API process serves any reconnect.
Without `since` a reader replays the thread's history from the start of its logs, as officially; the client
dedups by `event_id` (the entry id). Two events share a seq only if two logs of the thread got the same id (one
millisecond, one position), which the thread's one run at a time rules out in practice, or a log took more than
SEQ_SCALE entries in one millisecond, far beyond what one run appends.

Entries come from the worker (runs.streams.protocol_events); the root `lifecycle` ending of each run is made here
from the run's done entry: completed, failed, or interrupted (unless the run paused on an interrupt, which the
worker announced already).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from agentplatform import serde, stream_log
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import BadRequest
from runs.models import Run
from runs.streams.protocol_events import parse_entry_name
from runs.streams.stream_reader import START, LogEvent, ThreadLogReader

CHANNELS = frozenset({"values", "updates", "checkpoints", "messages", "tools", "custom", "lifecycle", "input", "tasks"})
SEQ_SCALE = 2048
_ENDINGS = {
    Run.Status.SUCCESS: "completed",
    Run.Status.ERROR: "failed",
    Run.Status.TIMEOUT: "failed",
    Run.Status.INTERRUPTED: "interrupted",
}


def seq_of(entry_id: str) -> int:
    ms, _, n = entry_id.partition("-")
    return int(ms) * SEQ_SCALE + min(int(n or 0), SEQ_SCALE - 1)


def cursor_of(seq: int) -> str:
    """The log position right after the event numbered `seq`."""
    return f"{seq // SEQ_SCALE}-{seq % SEQ_SCALE}" if seq > 0 else START


def is_channel(value: Any) -> bool:
    return isinstance(value, str) and (value in CHANNELS or (value.startswith("custom:") and len(value) > 7))


@dataclass(frozen=True)
class Subscription:
    """What a connection (SSE) or a subscription (websocket) receives: channels, namespace prefixes, depth."""

    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None
    since: int | None = None

    def matches(self, method: str, namespace: list[str]) -> bool:
        if not self._channel_matches(method):
            return False
        if not self.namespaces:
            return True
        return any(
            _prefix_match(namespace, prefix) and (self.depth is None or len(namespace) - len(prefix) <= self.depth)
            for prefix in self.namespaces
        )

    def _channel_matches(self, method: str) -> bool:
        if method == "input.requested":
            return "input" in self.channels
        if method.startswith("custom"):
            return "custom" in self.channels or (method.startswith("custom:") and method in self.channels)
        return method in self.channels


def _prefix_match(namespace: list[str], prefix: tuple[str, ...]) -> bool:
    """A prefix segment without `:` also matches a segment's name before its task id (`child` ~ `child:<id>`)."""
    if len(prefix) > len(namespace):
        return False
    return all(
        seg == want or (":" not in want and seg.split(":")[0] == want)
        for seg, want in zip(namespace, prefix, strict=False)
    )


def _non_negative_int(value: Any) -> int | None:
    # bool is an int in Python: `"since": true` must not read as 1.
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def subscription_from(body: Any) -> Subscription:
    """An EventStreamRequest body as the official server reads it; BadRequest (400) with its wording otherwise."""
    channels = body.get("channels") if isinstance(body, dict) else None
    if not isinstance(channels, list) or not channels:
        raise BadRequest("channels is required and must be a non-empty array")
    bad = [channel if isinstance(channel, str) else repr(channel) for channel in channels if not is_channel(channel)]
    if bad:
        raise BadRequest(
            f"channels contains unsupported entries: {', '.join(bad[:5])}. Allowed: values, updates, messages, "
            "tools, custom, lifecycle, input, tasks, or any `custom:<name>`."
        )
    raw = body.get("namespaces")
    namespaces = None
    if isinstance(raw, list):
        valid = [tuple(ns) for ns in raw if isinstance(ns, list) and all(isinstance(seg, str) for seg in ns)]
        namespaces = tuple(valid) or None
    depth, since = _non_negative_int(body.get("depth")), _non_negative_int(body.get("since"))
    return Subscription(frozenset(channels), namespaces, depth, since)


@dataclass(frozen=True)
class WireEvent:
    """One event as sent: `event` is its method (the SSE event name), `data` the JSON, `id` its seq."""

    event: str
    data: bytes
    id: str
    event_id: str


def _wire(entry_id: str, method: str, params: bytes) -> WireEvent:
    seq = seq_of(entry_id)
    wire_method = "custom" if method.startswith("custom:") else method
    data = b"".join(
        (
            b'{"type":"event","event_id":"',
            entry_id.encode(),
            b'","seq":',
            str(seq).encode(),
            b',"method":"',
            wire_method.encode(),
            b'","params":',
            params,
            b"}",
        )
    )
    return WireEvent(wire_method, data, str(seq), entry_id)


@in_worker_thread
def _graph_name(run_id: uuid.UUID) -> str:
    kwargs = Run.objects.filter(run_id=run_id).values_list("kwargs", flat=True).first() or {}
    return ((kwargs.get("config") or {}).get("configurable") or {}).get("graph_id") or "root"


def _ending(entry_id: str, data: bytes, graph_name: str) -> WireEvent | None:
    """The root lifecycle ending of a run, from its done entry; None when there is nothing to say."""
    done = orjson.loads(data)
    ending = _ENDINGS.get(done.get("status"))
    result = done.get("result")
    if ending is None or (isinstance(result, dict) and result.get("__interrupt__")):
        return None
    data = {"event": ending, "graph_name": graph_name}
    return _wire(entry_id, "lifecycle", serde.dumps({"namespace": [], "timestamp": _id_ms(entry_id), "data": data}))


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-")[0])


@dataclass(eq=False)
class ThreadEventReader:
    """Wire events of a thread for one subscription, from `since` (or the start of the logs) on."""

    log: ThreadLogReader
    subscription: Subscription
    graph_names: dict[uuid.UUID, str] = field(default_factory=dict)

    @classmethod
    async def open(cls, thread_id: uuid.UUID, subscription: Subscription) -> ThreadEventReader:
        since = subscription.since
        cursor = cursor_of(since) if since is not None else START
        log = await ThreadLogReader.open(thread_id, last_event_id=cursor, stream_modes=["run_modes"])
        log.keep_done = True
        return cls(log, subscription)

    async def read(self, block_ms: int) -> list[WireEvent]:
        """The next events (possibly none after `block_ms`). A thread's stream never ends."""
        out = []
        for event in await self.log.read(block_ms):
            if event.event == stream_log.DONE_EVENT:
                ending = await self._ending(event) if self.subscription.matches("lifecycle", []) else None
                out += [ending] if ending is not None else []
                continue
            parsed = parse_entry_name(event.event)
            if parsed is None:
                continue
            if parsed == ("lifecycle", []) and event.run_id is not None:
                self.graph_names[event.run_id] = orjson.loads(event.data)["data"].get("graph_name") or "root"
            if self.subscription.matches(*parsed):
                out.append(_wire(event.id, parsed[0], event.data))
        return out

    async def _ending(self, event: LogEvent) -> WireEvent | None:
        if event.run_id is None:
            return None
        # The run's `running` event named its graph; a reader that resumed after it asks Postgres.
        graph_name = self.graph_names.pop(event.run_id, None) or await _graph_name(event.run_id)
        return _ending(event.id, event.data, graph_name)


async def pump(reader: ThreadEventReader, send: Any, block_ms: int) -> None:
    """Send a reader's events one by one until cancelled (the websocket's subscriptions)."""
    while True:
        for event in await reader.read(block_ms):
            await send(event)
        await asyncio.sleep(0)
