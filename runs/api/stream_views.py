"""SSE endpoints: create-and-stream a run, join a run's stream, join a thread's stream.

Async Django views returning StreamingHttpResponse over an async generator (served by Daphne). When the client
goes away Django cancels the generator (CancelledError), which is where `on_disconnect=cancel` takes effect.
Creation errors are ordinary JSON 4xx responses; once the stream has started, errors travel as `event: error`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from redis.exceptions import RedisError

from access.users import AuthUser
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import async_endpoint, json_body, on_disconnect, query_flag, run_headers
from agentplatform.errors import InvalidInput
from agentplatform.ids import parse_uuid
from agentplatform.telemetry.metrics import stream_clients
from runs.services import run_cancel_quietly, run_create
from runs.streams import sse, stream_reader
from threads.selectors import thread_stream_allowed

logger = logging.getLogger(__name__)
Reader = stream_reader.RunLogReader | stream_reader.ThreadLogReader


# While Redis is unreachable a stream waits (sending heartbeats) this long before it closes without an error
# event, so the SDK asks for the run and reconnects with Last-Event-ID if the run still goes on.
REDIS_OUTAGE_SECONDS = 30.0


async def _read(reader: Reader, block_ms: int, outage: list[float]) -> list | None:
    """reader.read, riding out a Redis outage: [] while it lasts, None (end of stream) once it is too long."""
    try:
        events = await reader.read(block_ms)
    except RedisError as exc:
        outage.append(time.monotonic())
        if outage[-1] - outage[0] > REDIS_OUTAGE_SECONDS:
            logger.warning("stream log unavailable for %.0f s, closing the stream: %r", REDIS_OUTAGE_SECONDS, exc)
            return None
        await asyncio.sleep(min(1.0, 0.05 * 2 ** len(outage)))
        return []
    outage.clear()
    return events


async def sse_body(
    reader: Reader, *, with_ids: bool, on_disconnect: Callable[[], Awaitable[None]] | None = None
) -> AsyncIterator[bytes]:
    """Frames from `reader`, a heartbeat comment every HEARTBEAT_SECONDS, until the reader is exhausted.

    `on_disconnect` runs when the stream stops early: the client went away (Django cancels or closes us).
    """
    next_heartbeat = time.monotonic() + sse.HEARTBEAT_SECONDS
    outage: list[float] = []
    ended = False
    clients = stream_clients("sse")
    clients.inc()
    try:
        yield b""  # Daphne sends the response headers with the first body chunk: send them now
        while (
            events := await _read(reader, int(max(0.0, next_heartbeat - time.monotonic()) * 1000), outage)
        ) is not None:
            if events:
                yield b"".join(sse.frame(e.event, e.data, e.id if with_ids else None) for e in events)
            if time.monotonic() >= next_heartbeat:
                next_heartbeat = time.monotonic() + sse.HEARTBEAT_SECONDS
                yield sse.HEARTBEAT
        ended = True
    finally:
        clients.dec()
        if not ended and on_disconnect is not None:
            await asyncio.shield(on_disconnect())  # finish cancelling the run even if cancelled again


def _sse_response(body: AsyncIterator[bytes], headers: dict | None = None) -> StreamingHttpResponse:
    return StreamingHttpResponse(body, content_type=sse.CONTENT_TYPE, headers={**sse.HEADERS, **(headers or {})})


@async_endpoint("POST")
async def create_run_stream(request: HttpRequest, thread_id: str | None = None) -> HttpResponse:
    """POST /threads/{thread_id}/runs/stream and POST /runs/stream (stateless)."""
    tid = parse_uuid(thread_id, "thread") if thread_id is not None else None
    payload = json_body(request)
    user = request.identity
    create = in_worker_thread(run_create)
    run = await create(
        thread_id=tid, payload=payload, stateless=tid is None, user=user, headers=run_headers(request), streaming=True
    )
    await stream_reader.log_run_start(run)
    reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
    base = f"/threads/{tid}/runs/{run.run_id}" if tid is not None else f"/runs/{run.run_id}"
    cancel = payload.get("on_disconnect") == "cancel"
    on_abandon = _cancel_on_abandon(run, user) if cancel else None
    body = sse_body(reader, with_ids=stream_reader.run_is_resumable(run), on_disconnect=on_abandon)
    return _sse_response(body, {"Location": f"{base}/stream", "Content-Location": base})


def _cancel_on_abandon(run, user: AuthUser) -> Callable[[], Awaitable[None]]:
    return on_disconnect(run_cancel_quietly, thread_id=run.thread_id, run_id=run.run_id, user=user)


def _query_stream_modes(request: HttpRequest) -> list[str]:
    """`stream_mode` may be repeated, or a JSON array in one value (what the SDK sends for a list)."""
    modes: list[str] = []
    for value in request.GET.getlist("stream_mode"):
        if not value:
            continue  # the SDK sends `stream_mode=` for "all modes"
        if value.startswith("["):
            try:
                modes += [str(mode) for mode in json.loads(value)]
                continue
            except ValueError:
                pass
        modes.append(value)
    return modes


async def _not_found_stream(what: str = "Run") -> AsyncIterator[bytes]:
    # The official server answers a join of an unknown run with 200 and this error event.
    yield sse.error_frame("HTTPException", f"404: {what} not found")


@async_endpoint("GET")
async def join_run_stream(request: HttpRequest, run_id: str, thread_id: str | None = None) -> HttpResponse:
    """GET /threads/{thread_id}/runs/{run_id}/stream: replay after Last-Event-ID (if any), then the live tail.
    A malformed Last-Event-ID counts as none (live events only), as on the official server; the thread stream
    refuses one with 422, as officially too."""
    tid = parse_uuid(thread_id, "thread") if thread_id is not None else None
    rid = parse_uuid(run_id, "run")
    try:
        last_event_id = stream_reader.parse_last_event_id(request.headers.get("Last-Event-ID"))
    except InvalidInput:
        last_event_id = None
    user = request.identity
    run = await stream_reader.run_row(rid, tid, user=user)
    base = f"/threads/{tid}/runs/{rid}" if tid is not None else f"/runs/{rid}"
    headers = {"Location": f"{base}/stream", "Content-Location": base}
    if run is None:
        return _sse_response(_not_found_stream(), headers)
    modes = _query_stream_modes(request)
    reader = await stream_reader.RunLogReader.open(run, last_event_id=last_event_id, stream_modes=modes)
    cancel = query_flag(request, "cancel_on_disconnect")
    on_abandon = _cancel_on_abandon(run, user) if cancel else None
    body = sse_body(reader, with_ids=stream_reader.run_is_resumable(run), on_disconnect=on_abandon)
    return _sse_response(body, headers)


@async_endpoint("GET")
async def join_thread_stream(request: HttpRequest, thread_id: str) -> HttpResponse:
    """GET /threads/{thread_id}/stream: every current and future run of the thread; events always carry ids."""
    tid: uuid.UUID = parse_uuid(thread_id, "thread")
    last_event_id = stream_reader.parse_last_event_id(request.headers.get("Last-Event-ID"))
    modes = stream_reader.parse_thread_stream_modes(
        request.GET.getlist("stream_modes") + request.GET.getlist("stream_mode")
    )
    if not await in_worker_thread(thread_stream_allowed)(thread_id=tid, user=request.identity):
        return _sse_response(_not_found_stream("Thread"))  # officially an error event too
    reader = await stream_reader.ThreadLogReader.open(tid, last_event_id=last_event_id, stream_modes=modes)
    return _sse_response(sse_body(reader, with_ids=True))
