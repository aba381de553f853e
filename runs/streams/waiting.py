"""Waiting for a run's result (/wait, /join, cancel?wait=1): the done event of its result log, else its row.

The worker writes the terminal status to Postgres, then appends the done event `{"status", "result"}` to the
run's stream log and, alone, to its result log (agentplatform.stream_log), which a waiter waits on through the
process's shared reader; when the log is silent it looks at the run's status from the process's shared Postgres
check, and reads the row once that says the run is over, so a lost log (Redis restart, expiry) only costs a
little latency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.db import connection

from agentplatform import serde, stream_log
from runs.models import Run
from runs.streams.stream_reader import RunCheck

KEEPALIVE_SECS = 5.0
_BLOCK_MS = 1000
RUN_NOT_FOUND_RESULT = {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}


def _row_result(run_id: UUID) -> tuple[bool, Any]:
    """(finished, result) from the run row; a vanished run (rollback, temporary thread) counts as finished."""
    try:
        row = Run.objects.filter(run_id=run_id).values_list("status", "output").first()
    finally:
        connection.close()  # a waiter may wait for hours: hold no connection in between
    if row is None:
        return True, None
    status, output = row
    if status in Run.IN_FLIGHT:
        return False, None
    return True, output if output is not None else {}


async def run_wait_result(run_id: UUID) -> Any:
    """The run's /wait body once it has ended."""
    key = stream_log.run_result_key(run_id)
    cursor = stream_log.START
    check = await RunCheck.open(run_id)
    while True:
        try:
            entries = await stream_log.read_after(key, cursor, block_ms=_BLOCK_MS)
        except Exception:  # noqa: BLE001 - Redis unavailable: the database still knows the ending
            entries = []
            await asyncio.sleep(_BLOCK_MS / 1000)
        for entry_id, event, data in entries:
            cursor = entry_id
            if event == stream_log.DONE_EVENT:
                return stream_log.done_result(data)
        if entries or check.status() in Run.IN_FLIGHT:
            continue
        # Not thread_sensitive: this may run after the view returned (streamed body), when the request's
        # thread-sensitive executor is gone.
        finished, result = await sync_to_async(_row_result, thread_sensitive=False)(run_id)
        if finished:
            return await _result_after_row(key, cursor, result)


async def _result_after_row(key: str, cursor: str, result: Any) -> Any:
    if result is not None:
        return result
    # The row is gone: its done event is being appended right now, or it was rolled back.
    try:
        for _, event, data in await stream_log.read_after(key, cursor, block_ms=2000):
            if event == stream_log.DONE_EVENT:
                return stream_log.done_result(data)
    except Exception:  # noqa: BLE001
        pass
    return {}


async def first_wait(run_id: UUID, *, on_abandon=None) -> tuple[asyncio.Future, bool]:
    """Start waiting for the result and give it KEEPALIVE_SECS: (waiter, done). Most runs are done by then and
    answer with a plain response; longer ones continue with `result_body`."""
    waiter = asyncio.ensure_future(run_wait_result(run_id))
    try:
        done, _ = await asyncio.wait({waiter}, timeout=KEEPALIVE_SECS)
    except asyncio.CancelledError:  # the client left (Django cancels the view on disconnect)
        await _abandon(waiter, on_abandon)
        raise
    return waiter, bool(done)


async def result_body(waiter: asyncio.Future, *, on_abandon=None) -> AsyncIterator[bytes]:
    """The rest of a long wait: a newline every KEEPALIVE_SECS (leading whitespace is valid JSON), then the result.

    `on_abandon` (an async callable) runs if the client goes away first (on_disconnect=cancel).
    """
    try:
        while True:
            yield b"\n"
            done, _ = await asyncio.wait({waiter}, timeout=KEEPALIVE_SECS)
            if done:
                yield serde.dumps(waiter.result())
                return
    finally:
        await _abandon(waiter, on_abandon)


async def _abandon(waiter: asyncio.Future, on_abandon) -> None:
    if waiter.done():
        return
    waiter.cancel()
    if on_abandon is not None:
        await asyncio.shield(on_abandon())
