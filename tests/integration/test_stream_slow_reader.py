"""A client that stops reading an SSE stream is disconnected after STREAM_SEND_TIMEOUT_SECS, instead of Daphne
buffering the rest of the stream for it without bound, and it resumes from where it got to with Last-Event-ID."""

from __future__ import annotations

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

from agentplatform import stream_log
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration

SEND_TIMEOUT_SECS = 2
EVENTS, EVENT_BYTES = 16384, 1024  # 16 MiB of stream: far more than the kernel's socket buffers hold
FRAME_ID = re.compile(rb"id: (\d+-\d+)\r\n\r\n")


@pytest.fixture
def api_only():
    """No worker: the run stays pending, so its stream stays open for as long as the client keeps it."""
    root = Path(tempfile.mkdtemp(prefix="agentplatform-slow-reader-"))
    stack = Stack(base_env={**INTEGRATION_ENV, "STREAM_SEND_TIMEOUT_SECS": str(SEND_TIMEOUT_SECS)}, log_dir=root)
    stack.create_database()
    stack.start_api()
    yield stack
    stack.stop_all()


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
    key = stream_log.run_stream_key(run["run_id"])
    redis = redis_lib.Redis.from_url(os.environ["REDIS_URI"])
    data = b'{"text":"' + b"x" * EVENT_BYTES + b'"}'
    pipe = redis.pipeline(transaction=False)
    for _ in range(EVENTS):
        pipe.xadd(key, {"event": "custom", "data": data})
    ids = [entry_id.decode() for entry_id in pipe.execute()]
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
