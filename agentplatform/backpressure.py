"""Streamed HTTP responses wait for their client, and a client that stops reading is disconnected.

Daphne hands each body chunk to Twisted, whose send buffer grows without bound when the client reads slower than
the stream is written, or not at all while its connection stays open. Twisted tells a registered push producer
when that buffer passes its limit (64 KiB) and when it has drained; `bounded_send` registers one for each
streamed response and makes the next chunk wait until the buffer drained. A response kept waiting
STREAM_SEND_TIMEOUT_SECS is aborted: the application sees `http.disconnect` (Django cancels the body, as when the
client leaves), and an SSE client reconnects with Last-Event-ID. A stream reader therefore holds at most the
buffer and one chunk, and a slow client only falls behind in the stream log.

This relies on Daphne passing `send` as a partial of its server's reply method bound to the Twisted request
(daphne 4.x); anything else (another server, whose `send` may wait for the network itself) is left as it is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)
ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


class _Flow:
    """The push producer Twisted pauses while the connection's send buffer is full."""

    def __init__(self) -> None:
        self.drained = asyncio.Event()
        self.drained.set()

    # Twisted's IPushProducer.
    def pauseProducing(self) -> None:
        self.drained.clear()

    def resumeProducing(self) -> None:
        self.drained.set()

    def stopProducing(self) -> None:
        self.drained.set()  # the connection is gone: nothing will drain, and nothing is left to wait for


def _twisted_request(send: Callable) -> Any | None:
    request = send.args[0] if isinstance(send, functools.partial) and send.args else None
    return request if hasattr(request, "registerProducer") and hasattr(request, "channel") else None


class _BoundedSend:
    """One response's `send`: after each streamed chunk, waits while Twisted's send buffer is over its limit."""

    def __init__(self, request: Any, send: Callable) -> None:
        self._request, self._send = request, send
        self._flow: _Flow | None = None

    async def __call__(self, message: dict) -> None:
        streamed = message["type"] == "http.response.body" and message.get("more_body", False)
        if message["type"] == "http.response.body" and not streamed:
            self._release()  # Twisted wants the producer gone before the response finishes
        await self._send(message)
        if streamed:
            await self._drained()

    async def _drained(self) -> None:
        flow = self._flow or self._register()
        if flow is None or flow.drained.is_set():
            return
        try:
            await asyncio.wait_for(flow.drained.wait(), settings.STREAM_SEND_TIMEOUT_SECS)
        except TimeoutError:
            logger.info(
                "closing a streamed response to %s: its client read nothing for %s s (STREAM_SEND_TIMEOUT_SECS)",
                getattr(self._request, "client_addr", None),
                settings.STREAM_SEND_TIMEOUT_SECS,
            )
            self._request.transport.abortConnection()

    def _register(self) -> _Flow | None:
        channel = self._request.channel
        if channel is None:
            return None  # the client left already
        flow = _Flow()
        try:
            self._request.registerProducer(flow, True)
        except (RuntimeError, ValueError):  # someone else produces for this request: leave it alone
            return None
        if getattr(channel, "_waitingForTransport", False):
            flow.pauseProducing()  # full before we registered: Twisted tells only producers it already knows
        self._flow = flow
        return flow

    def _release(self) -> None:
        if self._flow is not None and self._request.channel is not None and self._request.producer is self._flow:
            self._request.unregisterProducer()
        self._flow = None


def bounded_send(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI HTTP application so that its streamed responses wait for their clients (see module doc)."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        request = _twisted_request(send) if scope["type"] == "http" else None
        await app(scope, receive, send if request is None else _BoundedSend(request, send))

    return wrapped
