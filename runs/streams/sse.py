"""Server-Sent Events framing, exactly as the official server writes it.

A frame is `event: <name>\\r\\ndata: <json>\\r\\n[id: <id>\\r\\n]\\r\\n`; a heartbeat is the comment
`: heartbeat\\r\\n\\r\\n`, sent every HEARTBEAT_SECONDS so proxies keep the connection open and a vanished client
is noticed (a server only learns of a dead peer when a write fails).
"""

from __future__ import annotations

from typing import Any

from agentplatform import serde

HEARTBEAT = b": heartbeat\r\n\r\n"
HEARTBEAT_SECONDS = 5.0
CONTENT_TYPE = "text/event-stream; charset=utf-8"
# Proxies (nginx) must not buffer the stream, and no cache may keep it.
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _field(value: str | bytes) -> bytes:
    """A newline inside `event:` or `id:` would end the field early and let data forge frames."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return raw.replace(b"\r", b"").replace(b"\n", b"")


def _data(data: Any) -> bytes:
    """Payloads are JSON on one line (stream log entries already are); strip stray newlines from raw bytes."""
    raw = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else serde.dumps(data)
    return raw.replace(b"\r", b"").replace(b"\n", b"") if b"\n" in raw or b"\r" in raw else raw


def frame(event: str | bytes, data: Any, event_id: str | bytes | None = None) -> bytes:
    """One SSE frame; `data` is JSON bytes or any value `serde.dumps` can encode."""
    parts = [b"event: ", _field(event), b"\r\ndata: ", _data(data), b"\r\n"]
    if event_id is not None:
        parts += [b"id: ", _field(event_id), b"\r\n"]
    parts.append(b"\r\n")
    return b"".join(parts)


def error_frame(error: str, message: str) -> bytes:
    return frame("error", {"error": error, "message": message})
