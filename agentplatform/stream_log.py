"""Each run's events as a Redis Stream: the worker appends, any API process reads from any position.

An entry has the fields `event` (the SSE event name, e.g. "values" or "updates|child:<task id>") and `data`
(the JSON payload as bytes). Entry ids (`<ms>-<seq>`) are the SSE `id:` values clients send back in
Last-Event-ID. The last entry of a run is the control event `DONE_EVENT`, whose data is
`{"status": <run status>, "result": <the /wait body>}`; readers stop there and never forward it to clients.
Redis may lose a log: readers fall back to the run's row in Postgres.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from agentplatform import serde

DONE_EVENT = "__done__"


def run_stream_key(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:events"


def thread_stream_key(thread_id: object) -> str:
    return f"agentplatform:thread:{thread_id}:events"


def run_control_channel(run_id: object) -> str:
    return f"agentplatform:run:{run_id}:control"


def encode(data: Any) -> bytes:
    # Compact JSON, as the official server writes SSE data (orjson), whoever appends the event.
    return data if isinstance(data, bytes) else serde.dumps(data)


async def append(redis, key: str, event: str, data: Any) -> str:
    entry_id = await redis.xadd(
        key, {"event": event, "data": encode(data)}, maxlen=settings.STREAM_MAX_EVENTS, approximate=True
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


async def append_many(redis, key: str, events: Iterable[tuple[str, Any]]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for event, data in events:
            pipe.xadd(key, {"event": event, "data": encode(data)}, maxlen=settings.STREAM_MAX_EVENTS, approximate=True)
        await pipe.execute()


async def finish(redis, key: str, status: str, result: Any, ttl_seconds: int) -> None:
    """Append the done control event and let the log expire `ttl_seconds` later."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(key, {"event": DONE_EVENT, "data": encode({"status": status, "result": result})})
        pipe.expire(key, ttl_seconds)
        await pipe.execute()


def decode_entries(raw: list) -> list[tuple[str, str, bytes]]:
    """XREAD/XRANGE rows -> [(id, event, data bytes)]."""
    out = []
    for entry_id, fields in raw:
        ident = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        event = fields[b"event"].decode() if b"event" in fields else fields["event"]
        data = fields.get(b"data", fields.get("data", b""))
        out.append((ident, event, data))
    return out


async def read_after(redis, key: str, after_id: str, block_ms: int | None, count: int = 500) -> list:
    """Entries after `after_id` ("0-0" for all), waiting up to block_ms for the first one."""
    rows = await redis.xread({key: after_id}, count=count, block=block_ms)
    if not rows:
        return []
    return decode_entries(rows[0][1])
