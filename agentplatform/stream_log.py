"""The event logs of runs and threads in Redis Streams. The only code that issues Redis stream commands.

Each run has a log: the worker appends the run's events, any API process reads them from any position. A thread
has a log of its own for the events that belong to no run (`state_update`). An entry has the fields `event` (the
SSE event name, e.g. "values" or "updates|child:<task id>") and `data` (the JSON payload as bytes). Entry ids
(`<ms>-<seq>`) are the SSE `id:` values clients send back in Last-Event-ID.

A run attempt's log starts with one `metadata {"run_id", "attempt"}` entry (`append_start`) and a run's log ends
with the entry `DONE_EVENT`, whose data is `{"status": <run status>, "result": <the /wait body>}` (`finish_sync`);
readers stop there and never forward it to clients. The done entry is also written alone to the run's result log
(`run_result_key`), which waiters for the ending only (/wait, /join) read: the run's other events would wake them
for nothing. Redis may lose a log: readers fall back to the run's row in
Postgres, so every write here is one a caller may treat as best effort.

Readers share connections: every blocking read of an event loop goes through that loop's one `XREAD BLOCK`
(`_SharedReader`) on a connection of its own, so the number of waiting readers is bounded by memory, not by Redis
connections. Everything else is a short command on the loop's bounded pool.

Cancel requests also travel through Redis, as pub/sub control messages (`publish_cancel_sync`, `listen_cancels`):
Postgres holds the request (Run.cancel_action), the message only lets the worker act on it in milliseconds.

Appends are fenced by attempt (design.md invariant 2): next to each run's log a fence key holds the highest attempt
that wrote to it, or ENDED once the run's ending is logged. An attempt's start and events are refused when a later
attempt has written (or was announced by `supersede_sync` when its predecessor was given back), so in a log every
entry after attempt N's `metadata` belongs to attempt N or a later one, and nothing follows the done event. The
check and the append are one Lua script, so no stale append can slip between them. When Redis lost the fence (a
restart without data) the next append recreates it: the live attempt always has the highest number and wins.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from redis.exceptions import NoScriptError

from agentplatform import serde
from agentplatform.errors import StaleAttemptError
from agentplatform.lazy import PerLoop
from agentplatform.redis_clients import async_blocking_redis, async_redis, sync_redis

logger = logging.getLogger(__name__)

START = "0-0"
# The fence value of a run whose ending is logged: higher than any attempt, so every later append is refused.
ENDED = 2**31
DONE_EVENT = "__done__"
# A control entry of a thread's log, `{"run_id"}`: a run of the thread was created. Thread readers follow it at
# once instead of asking Postgres; clients never see it.
RUN_CREATED_EVENT = "__run_created__"
# XREAD BLOCK must stay under the Redis client's socket timeout (redis-py's default is 5 s); 0 would block forever.
MAX_BLOCK_MS = 4000
# One entry as readers get it: (id, event, data), and with its log's key: (key, id, event, data).
Entry = tuple[str, str, bytes]
KeyedEntry = tuple[str, str, str, bytes]
# Entries one blocking read returns per log.
READ_COUNT = 500
# A wait shorter than this looks for entries already there before it waits through the shared reader.
QUICK_LOOK_BELOW_MS = 250

# The first attempt's start is written by whoever comes first: the API streaming the run it just created (so the
# client's first event does not wait for a worker) or the worker starting it. A later attempt always writes its
# own. Either way the log then outlives the attempt by RESUMABLE_STREAM_TTL_SECONDS, even if no done event comes;
# a log that already ended (the run was quicker than the API) keeps its shorter expiry, and a superseded attempt
# writes nothing.
# KEYS: the run's log, its fence. ARGV: attempt, max length, data, expiry, DONE_EVENT.
_START_SCRIPT = """
local attempt = tonumber(ARGV[1])
if attempt < tonumber(redis.call('GET', KEYS[2]) or '0') then
  return false
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
if attempt == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if last and last[2][2] ~= ARGV[5] then
    redis.call('EXPIRE', KEYS[1], ARGV[4])
  end
  return false
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', 'metadata', 'data', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return true
"""

# An attempt's events, in order: refused (nil) when a later attempt wrote or the run ended, else appended (their ids).
# KEYS: the run's log, its fence. ARGV: attempt, max length, expiry, then the event and data of each entry.
_APPEND_SCRIPT = """
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local attempt = tonumber(ARGV[1])
if attempt < fence then
  return false
end
local ids = {}
for i = 4, #ARGV, 2 do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[i], 'data', ARGV[i + 1])
end
if attempt > fence then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return ids
"""

# Raise a run's fence to at least ARGV[1] (never lower it). KEYS: the fence. ARGV: value, expiry.
_RAISE_FENCE_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return true
"""


class _Script:
    """A Lua script called by its SHA1 (EVALSHA), its text sent only when Redis does not know it (yet, or any more:
    a restart or SCRIPT FLUSH); the EVAL that sends it also caches it for the next calls."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def run(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.text, len(keys), *keys, *args)

    def run_sync(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.text, len(keys), *keys, *args)


_START, _APPEND, _RAISE_FENCE = _Script(_START_SCRIPT), _Script(_APPEND_SCRIPT), _Script(_RAISE_FENCE_SCRIPT)


# Every worker process holds one subscription to this pattern, whatever number of runs it executes.
CONTROL_PATTERN = "agentplatform:run:*:control"
# A subscriber pings this often and reconnects when no answer came for twice as long: a connection that died
# without a TCP reset would otherwise leave it deaf for many minutes.
CONTROL_PING_SECS = 5.0


def run_stream_key(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:events"


def run_result_key(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:result"


def run_fence_key(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:fence"


def _attempt_ttl() -> int:
    return int(settings.BG_JOB_TIMEOUT_SECS) + settings.RESUMABLE_STREAM_TTL_SECONDS


def thread_stream_key(thread_id: object) -> str:
    return f"agentplatform:thread:{thread_id}:events"


def encode(data: Any) -> bytes:
    # Compact JSON, as the official server writes SSE data (orjson), whoever appends the event.
    return data if isinstance(data, bytes) else serde.dumps(data)


def start_data(run_id: object, attempt: int) -> bytes:
    """The data of an attempt's start event, the official `metadata` frame."""
    return encode({"run_id": str(run_id), "attempt": attempt})


def done_data(status: str, result: Any) -> bytes:
    return encode({"status": status, "result": result})


def done_result(data: bytes) -> Any:
    """The /wait body carried by a done entry."""
    return orjson.loads(data).get("result")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _block(block_ms: int | None) -> int | None:
    return None if block_ms is None else min(max(1, block_ms), MAX_BLOCK_MS)


def _bounded(event: str, data: Any) -> dict[str, Any]:
    """The entry's fields; an event over MAX_STREAM_CHUNK_SIZE_BYTES becomes an `error` event that says so.

    Truncated JSON would be no JSON at all; a client that gets the error can read the state, which is complete.
    """
    encoded = encode(data)
    cap = settings.MAX_STREAM_CHUNK_SIZE_BYTES
    if len(encoded) <= cap:
        return {"event": event, "data": encoded}
    message = (
        f"The {event} event of {len(encoded)} bytes was not streamed: it exceeds MAX_STREAM_CHUNK_SIZE_BYTES"
        f" ({cap} bytes). The run goes on; read the thread's state for the complete values."
    )
    return {"event": "error", "data": encode({"error": "StreamEventTooLarge", "message": message})}


async def append(key: str, event: str, data: Any) -> str:
    """Append one event; its id."""
    entry_id = await async_redis().xadd(key, _bounded(event, data), maxlen=settings.STREAM_MAX_EVENTS, approximate=True)
    return _text(entry_id)


async def append_start(run_id: object, attempt: int) -> None:
    """Append an attempt's start event, once per attempt whoever calls first (see _START_SCRIPT)."""
    keys = (run_stream_key(run_id), run_fence_key(run_id))
    args = (attempt, settings.STREAM_MAX_EVENTS, start_data(run_id, attempt), _attempt_ttl(), DONE_EVENT)
    await _START.run(async_redis(), keys, args)


async def append_attempt(run_id: object, attempt: int, event: str, data: Any) -> str:
    """Append one event of a run's attempt; its id. Raises StaleAttemptError if the attempt was superseded."""
    return (await append_attempt_batch(run_id, attempt, [(event, data)]))[0]


async def append_attempt_batch(run_id: object, attempt: int, events: Sequence[tuple[str, Any]]) -> list[str]:
    """Append events of a run's attempt in order, in one call; their ids. Raises StaleAttemptError (and appends
    none) if the attempt was superseded."""
    keys = (run_stream_key(run_id), run_fence_key(run_id))
    args: list[Any] = [attempt, settings.STREAM_MAX_EVENTS, _attempt_ttl()]
    for event, data in events:
        args += (event, encode(data))
    entry_ids = await _APPEND.run(async_redis(), keys, args)
    if entry_ids is None:
        raise StaleAttemptError(f"run {run_id}: attempt {attempt} was superseded, its events are not logged")
    return [_text(entry_id) for entry_id in entry_ids]


def supersede_sync(run_id: object, attempt: int) -> None:
    """Refuse every later append of `attempt` and earlier ones: the run was given back or taken over.

    Best effort, like every write here: the next attempt's start raises the fence anyway.
    """
    try:
        _RAISE_FENCE.run_sync(sync_redis(), (run_fence_key(run_id),), (attempt + 1, _attempt_ttl()))
    except Exception:
        logger.warning("could not fence the stream log of run %s", run_id, exc_info=True)


def finish_sync(run_id: object, status: str, result: Any, *, error: dict | None = None) -> None:
    """Append (an `error` event and) the done event, and let the log expire RESUMABLE_STREAM_TTL_SECONDS later.

    Best effort: Redis may be down, and waiters then learn the ending from Postgres.
    """
    key = run_stream_key(run_id)
    try:
        pipe = sync_redis().pipeline(transaction=False)
        if error is not None:
            pipe.xadd(key, {"event": "error", "data": encode(error)})
        done = {"event": DONE_EVENT, "data": done_data(status, result)}
        for log in (key, run_result_key(run_id)):
            pipe.xadd(log, done)
            pipe.expire(log, settings.RESUMABLE_STREAM_TTL_SECONDS)
        # Nothing is appended after the ending, whichever attempt tries.
        pipe.set(run_fence_key(run_id), ENDED, ex=settings.RESUMABLE_STREAM_TTL_SECONDS)
        pipe.execute()
    except Exception:
        logger.warning("could not write the end of run %s to its stream log", run_id, exc_info=True)


def append_thread_sync(thread_id: object, event: str, data: Any) -> None:
    """Append an event to a thread's own log, which expires RESUMABLE_STREAM_TTL_SECONDS after its last event."""
    key = thread_stream_key(thread_id)
    pipe = sync_redis().pipeline(transaction=False)
    pipe.xadd(key, _bounded(event, data), maxlen=settings.STREAM_MAX_EVENTS, approximate=True)
    pipe.expire(key, settings.RESUMABLE_STREAM_TTL_SECONDS)
    pipe.execute()


def note_run_created_sync(thread_id: object, run_id: object) -> None:
    """Tell the thread's readers of a new run. Best effort: they also look in Postgres now and then."""
    try:
        append_thread_sync(thread_id, RUN_CREATED_EVENT, {"run_id": str(run_id)})
    except Exception:
        logger.warning("could not announce run %s on its thread's stream log", run_id, exc_info=True)


def decode_entries(raw: list) -> list[Entry]:
    """XREAD/XRANGE rows -> [(id, event, data bytes)]."""
    out = []
    for entry_id, fields in raw:
        event = fields[b"event"].decode() if b"event" in fields else fields["event"]
        data = fields.get(b"data", fields.get("data", b""))
        out.append((_text(entry_id), event, data))
    return out


async def read_after(key: str, after_id: str, block_ms: int | None, count: int = READ_COUNT) -> list[Entry]:
    """Entries after `after_id` (START for all), waiting up to block_ms (at most MAX_BLOCK_MS) for the first one."""
    return [entry[1:] for entry in await read_many_after({key: after_id}, block_ms, count)]


def read_after_sync(key: str, after_id: str, count: int = READ_COUNT) -> list[Entry]:
    """Entries after `after_id`, without waiting: for synchronous readers that poll (the admin's run page)."""
    rows = sync_redis().xread({key: after_id}, count=count)
    if not rows:
        return []
    return decode_entries(rows[0][1])


async def read_many_after(
    cursors: Mapping[str, str], block_ms: int | None, count: int = READ_COUNT
) -> list[KeyedEntry]:
    """Entries of several logs, each after its own cursor, as (key, id, event, data) in id (= time) order.

    With block_ms, waits (at most MAX_BLOCK_MS) through the loop's shared reader; without, one XREAD that returns
    at once. A short wait asks the pool first: entries already there must not lose the race against it.
    """
    if block_ms is None or block_ms < QUICK_LOOK_BELOW_MS:
        rows = await async_redis().xread(dict(cursors), count=count)
        entries = _in_order([(_text(key), *entry) for key, raw in rows or [] for entry in decode_entries(raw)])
        if entries or block_ms is None:
            return entries
    reader = await _shared_readers.get()
    return (await reader.wait(cursors, _block(block_ms) / 1000))[:count]


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _in_order(entries: list[KeyedEntry]) -> list[KeyedEntry]:
    return sorted(entries, key=lambda entry: _order(entry[1]))


async def last_entry(key: str) -> tuple[str, str | None]:
    """The id and event name of a log's last entry, or (START, None) when there is no log."""
    rows = await async_redis().xrevrange(key, count=1)
    if not rows:
        return START, None
    entry_id, event, _data = decode_entries(rows)[0]
    return entry_id, event


async def exists(key: str) -> bool:
    """Whether the log is still there (it expires after its run, and Redis may lose it)."""
    return bool(await async_redis().exists(key))


@dataclass(eq=False)
class _Waiter:
    cursors: dict[str, str]
    future: asyncio.Future


class _SharedReader:
    """The one XREAD BLOCK of an event loop: it waits on every log that the loop's readers wait on, each from the
    oldest cursor any of them holds, and hands each reader the entries after its own cursor.

    A reader arriving while a read is in flight that does not cover it (another log, or an older cursor) ends that
    read early by appending to this reader's own wake-up log, which every read waits on too. An entry id is never
    lost that way, unlike unblocking a connection that may not be blocked yet.

    A reader that was just handed entries comes back for the next ones a moment later (a follower, a /wait): the
    read after a delivery goes on waiting on its log from the last entry delivered, so the reader finds it covered
    and needs no wake-up, unless the log ended (its done event). Such a read only delivers to readers there.
    """

    def __init__(self) -> None:
        self._waiters: set[_Waiter] = set()
        self._reading: dict[str, str] | None = None  # the cursors of the read in flight
        self._delivered: dict[str, str] = {}  # logs just delivered, at their last entry: waited on by the next read
        self._woken = False
        self._wake_key = f"agentplatform:readers:{uuid.uuid4().hex}:wake"
        self._wake_cursor = START
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def wait(self, cursors: Mapping[str, str], timeout: float) -> list[KeyedEntry]:
        """The entries after `cursors`, as soon as there are some, or [] after `timeout` seconds."""
        waiter = _Waiter(dict(cursors), asyncio.get_running_loop().create_future())
        self._waiters.add(waiter)
        try:
            self._start()
            if self._reading is None:
                self._arrived.set()
            elif not self._covers(waiter):
                await self._wake()
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            return []
        finally:
            self._waiters.discard(waiter)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _covers(self, waiter: _Waiter) -> bool:
        reading = self._reading or {}
        return all(key in reading and _order(reading[key]) <= _order(after) for key, after in waiter.cursors.items())

    async def _wake(self) -> None:
        if self._woken:
            return  # the read in flight ends already
        self._woken = True
        try:
            async with async_redis().pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {"wake": b""}, maxlen=1, approximate=False)
                pipe.expire(self._wake_key, 600)
                await pipe.execute()
        except BaseException:
            self._woken = False
            raise

    async def _run(self) -> None:
        redis = async_blocking_redis(MAX_BLOCK_MS / 1000)
        try:
            while True:
                cursors = self._cursors()
                self._delivered = {}
                if cursors:
                    self._deliver(cursors, await self._read(redis, cursors))
                else:
                    self._arrived.clear()
                    await self._arrived.wait()
        except Exception as exc:  # a bug, not an outage: the waiting readers raise it, the next one restarts us
            logger.exception("the shared stream reader stopped")
            self._fail(exc)
        finally:
            await redis.aclose()

    def _cursors(self) -> dict[str, str]:
        """Each log waited on, from the oldest cursor of its waiters (and of the readers it just delivered to)."""
        oldest = dict(self._delivered)
        for waiter in self._waiters:
            for key, after in waiter.cursors.items():
                if key not in oldest or _order(after) < _order(oldest[key]):
                    oldest[key] = after
        return oldest

    async def _read(self, redis: Any, cursors: dict[str, str]) -> list:
        self._reading, self._woken = cursors, False
        try:
            streams = {**cursors, self._wake_key: self._wake_cursor}
            return await redis.xread(streams, count=READ_COUNT, block=MAX_BLOCK_MS) or []
        except Exception as exc:  # noqa: BLE001 - Redis away: each waiting reader raises it, as from its own read
            self._fail(exc)
            return []
        finally:
            self._reading = None

    def _deliver(self, cursors: dict[str, str], rows: list) -> None:
        batches: dict[str, list[Entry]] = {}
        for raw_key, raw in rows:
            key = _text(raw_key)
            if key == self._wake_key:
                self._wake_cursor = _text(raw[-1][0])
            else:
                batches[key] = decode_entries(raw)
        for waiter in list(self._waiters):
            # A log read from after a waiter's cursor (it came later, behind the others) may miss its entries.
            found = [
                (key, *entry)
                for key, after in waiter.cursors.items()
                if key in batches and _order(cursors[key]) <= _order(after)
                for entry in batches[key]
                if _order(entry[0]) > _order(after)
            ]
            if found:
                self._follow(found)
                self._waiters.discard(waiter)
                if not waiter.future.done():
                    waiter.future.set_result(_in_order(found))

    def _follow(self, found: list[KeyedEntry]) -> None:
        last: dict[str, KeyedEntry] = {}
        for entry in found:
            last[entry[0]] = entry
        for key, (_, entry_id, event, _) in last.items():
            if event != DONE_EVENT and (key not in self._delivered or _order(entry_id) < _order(self._delivered[key])):
                self._delivered[key] = entry_id

    def _fail(self, exc: Exception) -> None:
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(exc)
        self._waiters.clear()


async def _new_shared_reader() -> _SharedReader:
    return _SharedReader()


_shared_readers: PerLoop[_SharedReader] = PerLoop(_new_shared_reader, lambda reader: reader.close())


def control_channel(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:control"


def publish_cancel_sync(run_id: object, action: str) -> None:
    """Tell the worker executing the run to stop it now. Best effort: its worker also polls Postgres."""
    try:
        sync_redis().publish(control_channel(run_id), action)
    except Exception as exc:  # noqa: BLE001 - Redis away: the poll of Postgres is the fallback
        logger.warning("could not publish the cancel of run %s (%s); its worker polls Postgres", run_id, exc)


def listen_cancels(
    deliver: Callable[[str, str], None], stop: threading.Event, on_subscribed: Callable[[], None]
) -> None:
    """Call deliver(run_id, action) for each cancel published for any run, until `stop` is set. Raises when the
    connection fails or stops answering; the caller reconnects."""
    pubsub = sync_redis().pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.psubscribe(CONTROL_PATTERN)
        on_subscribed()
        last_heard = last_ping = time.monotonic()
        while not stop.is_set():
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                last_heard = now
                if message["type"] == "pmessage":
                    deliver(_text(message["channel"]).split(":")[2], _text(message["data"]))
            if now - last_heard > 2 * CONTROL_PING_SECS:
                raise ConnectionError("the cancel subscription stopped answering pings")
            if now - last_ping >= CONTROL_PING_SECS:
                pubsub.ping()
                last_ping = now
    finally:
        pubsub.close()
