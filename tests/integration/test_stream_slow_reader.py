"""A client that stops reading an SSE stream or a websocket is disconnected after STREAM_SEND_TIMEOUT_SECS, instead
of Daphne buffering the rest of the stream for it without bound, and it resumes from where it got to (Last-Event-ID,
or `last_event_id` over a websocket). A websocket that stops reading delays no other client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis as redis_lib
from langgraph_sdk import get_sync_client
from websockets.asyncio.client import connect

from agentplatform import stream_log
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration

SEND_TIMEOUT_SECS = 2
EVENTS, EVENT_BYTES = 16384, 1024  # 16 MiB of stream: far more than the kernel's socket buffers hold
FRAME_ID = re.compile(rb"id: (\d+-\d+)\r\n\r\n")


@pytest.fixture(scope="module")
def api_only():
    """No worker: the runs stay pending, so their streams stay open for as long as their clients keep them."""
    root = Path(tempfile.mkdtemp(prefix="agentplatform-slow-reader-"))
    stack = Stack(base_env={**INTEGRATION_ENV, "STREAM_SEND_TIMEOUT_SECS": str(SEND_TIMEOUT_SECS)}, log_dir=root)
    stack.create_database()
    stack.start_api()
    yield stack
    stack.stop_all()


def fill_log(redis: redis_lib.Redis, run_id: str) -> list[str]:
    """EVENTS events of EVENT_BYTES in the run's log; their ids."""
    data = b'{"text":"' + b"x" * EVENT_BYTES + b'"}'
    pipe = redis.pipeline(transaction=False)
    for _ in range(EVENTS):
        pipe.xadd(stream_log.run_stream_key(run_id), {"event": "custom", "data": data})
    return [entry_id.decode() for entry_id in pipe.execute()]


def open_stream(url: str, path: str, last_event_id: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that barely reads
    sock.connect((parts.hostname, parts.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nLast-Event-ID: {last_event_id}\r\n\r\n".encode())
    return sock


def drain(sock: socket.socket, limit_seconds: float) -> tuple[bytes, str]:
    """Everything the server still sends, and how the connection ended: "reset", "closed", or "open"."""
    received, deadline = bytearray(), time.monotonic() + limit_seconds
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return bytes(received), "reset"
        if not chunk:
            return bytes(received), "closed"
        received += chunk
    return bytes(received), "open"


def test_a_client_that_stops_reading_is_disconnected_then_resumes_with_last_event_id(api_only):
    client = get_sync_client(url=api_only.url)
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "echo", input={"value": "x"}, stream_resumable=True)
    ids = fill_log(redis_lib.Redis.from_url(os.environ["REDIS_URI"]), run["run_id"])
    path = f"/threads/{thread_id}/runs/{run['run_id']}/stream"

    stalled = open_stream(api_only.url, path, "-")
    time.sleep(SEND_TIMEOUT_SECS + 5)  # reads nothing meanwhile
    received, ended = drain(stalled, limit_seconds=20)
    stalled.close()
    got = [match.decode() for match in FRAME_ID.findall(received)]
    print(f"\nslow reader: {len(received)} of {EVENTS * EVENT_BYTES} bytes reached it before it was cut off ({ended}),")
    print(f"then resumed after event {len(got)}")
    assert ended in ("reset", "closed")
    assert len(got) < EVENTS and got == ids[: len(got)]

    resumed = open_stream(api_only.url, path, got[-1] if got else "-")
    first, _ = drain_until_frame(resumed)
    resumed.close()
    assert first == ids[len(got)]


def drain_until_frame(sock: socket.socket) -> tuple[str | None, bytes]:
    received, deadline = bytearray(), time.monotonic() + 30
    sock.settimeout(1)
    while time.monotonic() < deadline and not FRAME_ID.search(received):
        try:
            received += sock.recv(1 << 20)
        except TimeoutError:
            continue
    match = FRAME_ID.search(received)
    return (match.group(1).decode() if match else None), bytes(received)


# A websocket client that stops reading: the same bound as SSE, and the server's memory and the other clients
# are not affected by it.

WS_SUBSCRIBE = '{{"type":"subscribe","id":"s","thread_id":"{thread}","run_id":"{run}","last_event_id":"{last}"}}'


def api_pid(stack: Stack) -> int:
    """The Daphne process (a child of the launcher tests/stack.py starts)."""
    launcher = stack.processes["daphne"].pid
    return int(Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()[0])


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


def ws_frame(text: str) -> bytes:
    """A masked (client) text frame."""
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    header = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_open(url: str, subscribe: str) -> socket.socket:
    """A raw websocket with a 4 KiB receive buffer that subscribes, then reads nothing until told to."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    handshake = b""
    while b"\r\n\r\n" not in handshake:
        handshake += sock.recv(1)
    assert handshake.startswith(b"HTTP/1.1 101"), handshake
    sock.sendall(ws_frame(subscribe))
    return sock


def ws_messages(data: bytes) -> list[dict]:
    """The complete text messages in what a client received (server frames are not masked)."""
    messages, at = [], 0
    while at + 2 <= len(data):
        size, start = data[at + 1] & 0x7F, at + 2
        if size == 126:
            size, start = int.from_bytes(data[at + 2 : at + 4], "big"), at + 4
        elif size == 127:
            size, start = int.from_bytes(data[at + 2 : at + 10], "big"), at + 10
        if start + size > len(data):
            break
        if data[at] & 0x0F == 1:
            messages.append(json.loads(data[start : start + size]))
        at = start + size
    return messages


async def follow(url: str, subscription: dict, received: list[float], stop: asyncio.Event) -> None:
    """A websocket client that reads: records when each of its events arrived."""
    async with connect(url.replace("http://", "ws://") + "/ws") as ws:
        await ws.send(json.dumps({"type": "subscribe", "id": "f", **subscription}))
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if message["type"] == "event":
                received.append(time.monotonic())


async def feed(redis, key: str, count: int, every: float) -> list[float]:
    sent = []
    for _ in range(count):
        await asyncio.to_thread(redis.xadd, key, {"event": "custom", "data": b'{"n":1}'})
        sent.append(time.monotonic())
        await asyncio.sleep(every)
    return sent


def test_a_websocket_that_stops_reading_is_disconnected_without_server_memory_growing(api_only):
    client = get_sync_client(url=api_only.url)
    redis = redis_lib.Redis.from_url(os.environ["REDIS_URI"])
    stalled_run, followed_run = (
        client.runs.create(client.threads.create()["thread_id"], "echo", input={"value": "x"}, stream_resumable=True)
        for _ in range(2)
    )
    ids = fill_log(redis, stalled_run["run_id"])
    daphne = api_pid(api_only)
    rss_before = rss_bytes(daphne)
    subscribe = WS_SUBSCRIBE.format(thread=stalled_run["thread_id"], run=stalled_run["run_id"], last="-")
    stalled = ws_open(api_only.url, subscribe)

    async def meanwhile() -> tuple[list[float], list[float], int]:
        received, stop = [], asyncio.Event()
        subscription = {"thread_id": followed_run["thread_id"], "run_id": followed_run["run_id"]}
        follower = asyncio.ensure_future(follow(api_only.url, subscription, received, stop))
        await asyncio.sleep(0.5)
        key = stream_log.run_stream_key(followed_run["run_id"])
        sent = await feed(redis, key, count=int((SEND_TIMEOUT_SECS + 4) / 0.25), every=0.25)
        peak = rss_bytes(daphne)  # the stalled client has been cut off by now, or its buffer is at its largest
        await asyncio.sleep(0.5)
        stop.set()
        await follower
        return sent, received, peak

    sent, received, rss_peak = asyncio.run(meanwhile())
    data, ended = drain(stalled, limit_seconds=20)
    stalled.close()
    got = [m["event_id"] for m in ws_messages(data) if m["type"] == "event"]
    lags = [arrived - sent_at for sent_at, arrived in zip(sent, received, strict=False)]
    grown = (rss_peak - rss_before) / 2**20
    print(
        f"\nstalled websocket: {len(data)} of {EVENTS * EVENT_BYTES} bytes reached it ({ended}); Daphne RSS grew "
        f"{grown:.1f} MiB; another client got {len(received)} of {len(sent)} events, worst lag "
        f"{max(lags, default=0) * 1000:.0f} ms"
    )
    assert ended in ("reset", "closed")
    assert len(got) < EVENTS and got == ids[: len(got)]
    assert grown < 8, f"Daphne buffered {grown:.1f} MiB for a client that reads nothing"
    assert len(received) == len(sent) and max(lags) < 1.0

    resumed = ws_open(api_only.url, subscribe.replace('"last_event_id":"-"', f'"last_event_id":"{got[-1]}"'))
    first = first_ws_event(resumed)
    resumed.close()
    assert first == ids[len(got)]


def first_ws_event(sock: socket.socket) -> str | None:
    received, deadline = bytearray(), time.monotonic() + 30
    sock.settimeout(1)
    while time.monotonic() < deadline:
        events = [m["event_id"] for m in ws_messages(bytes(received)) if m["type"] == "event"]
        if events:
            return events[0]
        try:
            received += sock.recv(1 << 20)
        except TimeoutError:
            continue
    return None
