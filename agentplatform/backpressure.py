"""Streamed HTTP responses and websockets wait for their client, and a client that stops reading is disconnected.

Daphne hands each body chunk (each websocket message) to Twisted, whose send buffer grows without bound when the
client reads slower than the stream is written, or not at all while its connection stays open. Twisted tells a
registered push producer when that buffer passes its limit (64 KiB) and when it has drained; `bounded_send`
registers one for each streamed response and each websocket, and makes the next chunk or message wait until the
buffer drained. A connection kept waiting STREAM_SEND_TIMEOUT_SECS is aborted: the application sees
`http.disconnect` or `websocket.disconnect` (Django cancels the body, the consumer its subscriptions, as when the
client leaves), and the client resumes with Last-Event-ID (`last_event_id` over a websocket). A stream reader
therefore holds at most the buffer and one chunk, and a slow client only falls behind in the stream log; the
other clients of the process are not delayed, since each waits in its own task.

This relies on Daphne passing `send` as a partial of its server's reply method bound to the Twisted request, or
for a websocket to its protocol, whose transport is the TCP connection (daphne 4.x); anything else (another
server, whose `send` may wait for the network itself, or a TLS transport) is left as it is.
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


class _Relay(_Flow):
    """Stands in for a websocket connection's producer (Daphne's HTTP channel, which stays it after the upgrade and
    stops reading the socket while its send buffer is full) and tells it what Twisted tells us."""

    def __init__(self, previous: Any | None) -> None:
        super().__init__()
        self.previous = previous

    def pauseProducing(self) -> None:
        super().pauseProducing()
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:
        super().resumeProducing()
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        super().stopProducing()
        if self.previous is not None:
            self.previous.stopProducing()


def _bound_to(send: Callable) -> Any | None:
    return send.args[0] if isinstance(send, functools.partial) and send.args else None


def _twisted_request(send: Callable) -> Any | None:
    request = _bound_to(send)
    return request if hasattr(request, "registerProducer") and hasattr(request, "channel") else None


def _twisted_tcp_transport(send: Callable) -> Any | None:
    """The TCP transport of Daphne's websocket protocol (a Twisted FileDescriptor, which keeps `producerPaused`)."""
    transport = getattr(_bound_to(send), "transport", None)
    return transport if hasattr(transport, "registerProducer") and hasattr(transport, "producerPaused") else None


async def _wait_drained(flow: _Flow, transport: Any, client: Any) -> None:
    """Wait for the send buffer to drain; abort the connection when the client keeps it full too long."""
    if flow.drained.is_set():
        return
    try:
        await asyncio.wait_for(flow.drained.wait(), settings.STREAM_SEND_TIMEOUT_SECS)
    except TimeoutError:
        logger.info(
            "closing a stream to %s: its client read nothing for %s s (STREAM_SEND_TIMEOUT_SECS)",
            client,
            settings.STREAM_SEND_TIMEOUT_SECS,
        )
        transport.abortConnection()


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
        if flow is not None:
            await _wait_drained(flow, self._request.transport, getattr(self._request, "client_addr", None))

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


class _BoundedWebsocketSend:
    """One websocket's `send`: after each message, waits while Twisted's send buffer is over its limit. The relay
    is registered on the first message and stays until the connection is gone (Twisted then stops it)."""

    def __init__(self, transport: Any, send: Callable) -> None:
        self._transport, self._send = transport, send
        self._flow: _Relay | None = None

    async def __call__(self, message: dict) -> None:
        await self._send(message)
        if message["type"] == "websocket.send":
            flow = self._flow or self._register()
            if flow is not None:
                await _wait_drained(flow, self._transport, getattr(_bound_to(self._send), "client_addr", None))

    def _register(self) -> _Relay | None:
        transport = self._transport
        if transport.producer is not None and not transport.streamingProducer:
            return None  # a pull producer writes only when asked: nothing to bound
        if getattr(transport, "disconnected", False):
            return None
        relay = _Relay(transport.producer)
        if relay.previous is not None:
            transport.unregisterProducer()
        transport.registerProducer(relay, True)
        if transport.producerPaused:
            relay.drained.clear()  # full already: Twisted resumes the producer it knows when the buffer drains
        self._flow = relay
        return relay


def bounded_send(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI application so that its streamed responses and websockets wait for their clients (module doc)."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and (request := _twisted_request(send)) is not None:
            send = _BoundedSend(request, send)
        elif scope["type"] == "websocket" and (transport := _twisted_tcp_transport(send)) is not None:
            send = _BoundedWebsocketSend(transport, send)
        await app(scope, receive, send)

    return wrapped
