"""Streamed responses wait for a full Twisted send buffer to drain, and are aborted when it never does."""

from __future__ import annotations

import asyncio
import functools

import pytest

from agentplatform.backpressure import bounded_send


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def abortConnection(self) -> None:
        self.aborted = True


class FakeRequest:
    """What Daphne's send is bound to: a Twisted Request with a channel and a transport."""

    def __init__(self) -> None:
        self.channel = object()
        self.transport = FakeTransport()
        self.producer = None
        self.events: list = []

    def registerProducer(self, producer, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.events.append("unregistered")
        self.producer = None


def daphne_send(request: FakeRequest, full_after: bytes | None = None):
    """Daphne's send: a partial bound to the request; the buffer is full once `full_after` is written."""

    async def handle_reply(protocol, message):
        protocol.events.append(message.get("body"))
        if full_after is not None and message.get("body") == full_after:
            protocol.producer.pauseProducing()  # Twisted: the send buffer passed its limit

    return functools.partial(handle_reply, request)


def streamed_app(chunks: list[bytes]):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


@pytest.fixture(autouse=True)
def send_timeout(settings):
    settings.STREAM_SEND_TIMEOUT_SECS = 0.2


def test_a_chunk_waits_while_the_send_buffer_is_full_and_goes_on_when_it_drains():
    request = FakeRequest()

    async def scenario():
        app = bounded_send(streamed_app([b"a", b"b", b"c"]))
        response = asyncio.create_task(app({"type": "http"}, None, daphne_send(request, full_after=b"b")))
        await asyncio.sleep(0.1)
        sent_while_full = list(request.events)
        request.producer.resumeProducing()
        await response
        return sent_while_full

    assert asyncio.run(scenario()) == [None, b"a", b"b"]
    assert request.events == [None, b"a", b"b", b"c", "unregistered", b""]
    assert not request.transport.aborted


def test_a_client_that_never_drains_its_buffer_is_aborted():
    request = FakeRequest()

    async def scenario():
        app = bounded_send(streamed_app([b"a", b"b"]))
        await asyncio.wait_for(app({"type": "http"}, None, daphne_send(request, full_after=b"b")), 2)

    asyncio.run(scenario())
    assert request.transport.aborted


def test_another_servers_send_is_left_alone():
    sent: list = []

    async def send(message):
        sent.append(message["type"])

    asyncio.run(bounded_send(streamed_app([b"a"]))({"type": "http"}, None, send))
    assert sent == ["http.response.start", "http.response.body", "http.response.body"]


class FakeTcpTransport(FakeTransport):
    """A Twisted TCP transport: one producer at a time (Daphne's HTTP channel at first), `producerPaused` kept."""

    def __init__(self, producer) -> None:
        super().__init__()
        self.producer, self.streamingProducer, self.producerPaused, self.disconnected = producer, True, False, False

    def registerProducer(self, producer, streaming: bool) -> None:
        assert self.producer is None, "Twisted refuses a second producer"
        self.producer, self.streamingProducer = producer, streaming

    def unregisterProducer(self) -> None:
        self.producer = None

    def fill(self) -> None:
        self.producerPaused = True
        self.producer.pauseProducing()

    def drain(self) -> None:
        self.producerPaused = False
        self.producer.resumeProducing()


class FakeChannel:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")


class FakeWebsocketProtocol:
    def __init__(self) -> None:
        self.channel = FakeChannel()
        self.transport = FakeTcpTransport(self.channel)
        self.sent: list = []


def websocket_send(protocol: FakeWebsocketProtocol, full_after: str | None = None):
    async def handle_reply(protocol, message):
        protocol.sent.append(message.get("text"))
        if full_after is not None and message.get("text") == full_after:
            protocol.transport.fill()

    return functools.partial(handle_reply, protocol)


def websocket_app(texts: list[str]):
    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        for text in texts:
            await send({"type": "websocket.send", "text": text})

    return app


def test_a_websocket_message_waits_while_the_send_buffer_is_full_and_the_http_channel_is_still_told():
    protocol = FakeWebsocketProtocol()

    async def scenario():
        app = bounded_send(websocket_app(["a", "b", "c"]))
        session = asyncio.create_task(app({"type": "websocket"}, None, websocket_send(protocol, full_after="b")))
        await asyncio.sleep(0.1)
        sent_while_full = list(protocol.sent)
        protocol.transport.drain()
        await session
        return sent_while_full

    assert asyncio.run(scenario()) == [None, "a", "b"]
    assert protocol.sent == [None, "a", "b", "c"]
    assert protocol.channel.calls == ["pause", "resume"]
    assert not protocol.transport.aborted


def test_a_websocket_whose_buffer_never_drains_is_aborted():
    protocol = FakeWebsocketProtocol()

    async def scenario():
        app = bounded_send(websocket_app(["a", "b", "c"]))
        await asyncio.wait_for(app({"type": "websocket"}, None, websocket_send(protocol, full_after="a")), 2)

    asyncio.run(scenario())
    assert protocol.transport.aborted
