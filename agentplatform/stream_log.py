"""The event logs of runs and threads in Redis Streams. The only code that issues Redis stream commands.

Each run has a log: the worker appends the run's events, any API process reads them from any position. A thread
has a log of its own for the events that belong to no run (`state_update`). An entry has the fields `event` (the
SSE event name, e.g. "values" or "updates|child:<task id>") and `data` (the JSON payload as bytes). Entry ids
(`<ms>-<seq>`) are the SSE `id:` values clients send back in Last-Event-ID.

A run attempt's log starts with one `metadata {"run_id", "attempt"}` entry (`append_start`) and a run's log ends
with the entry `DONE_EVENT`, whose data is `{"status": <run status>, "result": <the /wait body>}` (`finish_sync`);
readers stop there and never forward it to clients. Redis may lose a log: readers fall back to the run's row in
Postgres, so every write here is one a caller may treat as best effort.

Appends are fenced by attempt (design.md invariant 2): next to each run's log a fence key holds the highest attempt
that wrote to it, or ENDED once the run's ending is logged. An attempt's start and events are refused when a later
attempt has written (or was announced by `supersede_sync` when its predecessor was given back), so in a log every
entry after attempt N's `metadata` belongs to attempt N or a later one, and nothing follows the done event. The
check and the append are one Lua script, so no stale append can slip between them. When Redis lost the fence (a
restart without data) the next append recreates it: the live attempt always has the highest number and wins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from django.conf import settings

from agentplatform import serde
from agentplatform.errors import StaleAttemptError
from agentplatform.redis_clients import async_redis, sync_redis

logger = logging.getLogger(__name__)

START = "0-0"
# The fence value of a run whose ending is logged: higher than any attempt, so every later append is refused.
ENDED = 2**31
DONE_EVENT = "__done__"
# XREAD BLOCK must stay under the Redis client's socket timeout (redis-py's default is 5 s); 0 would block forever.
MAX_BLOCK_MS = 4000
# One entry as readers get it: (id, event, data).
Entry = tuple[str, str, bytes]

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

# An attempt's event: refused (nil) when a later attempt wrote or the run ended, else appended (its id).
# KEYS: the run's log, its fence. ARGV: attempt, max length, event, data, expiry.
_APPEND_SCRIPT = """
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local attempt = tonumber(ARGV[1])
if attempt < fence then
  return false
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3], 'data', ARGV[4])
if attempt > fence then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
return id
"""

# Raise a run's fence to at least ARGV[1] (never lower it). KEYS: the fence. ARGV: value, expiry.
_RAISE_FENCE_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return true
"""


def run_stream_key(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:events"


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


async def append(key: str, event: str, data: Any) -> str:
    """Append one event; its id."""
    entry_id = await async_redis().xadd(
        key, {"event": event, "data": encode(data)}, maxlen=settings.STREAM_MAX_EVENTS, approximate=True
    )
    return _text(entry_id)


async def append_start(run_id: object, attempt: int) -> None:
    """Append an attempt's start event, once per attempt whoever calls first (see _START_SCRIPT)."""
    keys = (run_stream_key(run_id), run_fence_key(run_id))
    args = (attempt, settings.STREAM_MAX_EVENTS, start_data(run_id, attempt), _attempt_ttl(), DONE_EVENT)
    await async_redis().eval(_START_SCRIPT, 2, *keys, *args)


async def append_attempt(run_id: object, attempt: int, event: str, data: Any) -> str:
    """Append one event of a run's attempt; its id. Raises StaleAttemptError if the attempt was superseded."""
    keys = (run_stream_key(run_id), run_fence_key(run_id))
    args = (attempt, settings.STREAM_MAX_EVENTS, event, encode(data), _attempt_ttl())
    entry_id = await async_redis().eval(_APPEND_SCRIPT, 2, *keys, *args)
    if entry_id is None:
        raise StaleAttemptError(f"run {run_id}: attempt {attempt} was superseded, its event is not logged")
    return _text(entry_id)


def supersede_sync(run_id: object, attempt: int) -> None:
    """Refuse every later append of `attempt` and earlier ones: the run was given back or taken over.

    Best effort, like every write here: the next attempt's start raises the fence anyway.
    """
    try:
        sync_redis().eval(_RAISE_FENCE_SCRIPT, 1, run_fence_key(run_id), attempt + 1, _attempt_ttl())
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
        pipe.xadd(key, {"event": DONE_EVENT, "data": done_data(status, result)})
        pipe.expire(key, settings.RESUMABLE_STREAM_TTL_SECONDS)
        # Nothing is appended after the ending, whichever attempt tries.
        pipe.set(run_fence_key(run_id), ENDED, ex=settings.RESUMABLE_STREAM_TTL_SECONDS)
        pipe.execute()
    except Exception:
        logger.warning("could not write the end of run %s to its stream log", run_id, exc_info=True)


def append_thread_sync(thread_id: object, event: str, data: Any) -> None:
    """Append an event to a thread's own log, which expires RESUMABLE_STREAM_TTL_SECONDS after its last event."""
    key = thread_stream_key(thread_id)
    pipe = sync_redis().pipeline(transaction=False)
    pipe.xadd(key, {"event": event, "data": encode(data)}, maxlen=settings.STREAM_MAX_EVENTS, approximate=True)
    pipe.expire(key, settings.RESUMABLE_STREAM_TTL_SECONDS)
    pipe.execute()


def decode_entries(raw: list) -> list[Entry]:
    """XREAD/XRANGE rows -> [(id, event, data bytes)]."""
    out = []
    for entry_id, fields in raw:
        event = fields[b"event"].decode() if b"event" in fields else fields["event"]
        data = fields.get(b"data", fields.get("data", b""))
        out.append((_text(entry_id), event, data))
    return out


async def read_after(key: str, after_id: str, block_ms: int | None, count: int = 500) -> list[Entry]:
    """Entries after `after_id` (START for all), waiting up to block_ms (at most MAX_BLOCK_MS) for the first one."""
    rows = await async_redis().xread({key: after_id}, count=count, block=_block(block_ms))
    if not rows:
        return []
    return decode_entries(rows[0][1])


async def read_many_after(
    cursors: Mapping[str, str], block_ms: int | None, count: int = 500
) -> list[tuple[str, str, str, bytes]]:
    """Entries of several logs, each after its own cursor, as (key, id, event, data) in id (= time) order."""
    rows = await async_redis().xread(dict(cursors), count=count, block=_block(block_ms))
    entries = [(_text(key), *entry) for key, raw in rows or [] for entry in decode_entries(raw)]
    entries.sort(key=lambda entry: tuple(int(part) for part in entry[1].split("-")))
    return entries


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
