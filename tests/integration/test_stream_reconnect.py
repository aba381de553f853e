"""The SDK's own reconnect: a stream cut mid-run resumes from Location with Last-Event-ID, losing nothing."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.integration


class CuttingProxy:
    """A TCP proxy to the API that drops the first connection right after the frame containing `cut_after`."""

    def __init__(self, upstream_port: int, cut_after: bytes) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, client_reader, client_writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(reader, writer, watch: bool) -> None:
            with suppress(ConnectionError):
                while data := await reader.read(65536):
                    end = data.find(b"\r\n\r\n", data.find(self.cut_after)) if self.cut_after in data else -1
                    if watch and self.cuts == 0 and end >= 0:
                        self.cuts += 1
                        writer.write(data[: end + 4])  # the whole frame, then the connection drops
                        await writer.drain()
                        break
                    writer.write(data)
                    await writer.drain()
            for w in (client_writer, up_writer):
                w.close()

        await asyncio.gather(pipe(client_reader, up_writer, False), pipe(up_reader, client_writer, True))


def test_sdk_reconnects_with_last_event_id_after_a_dropped_stream(stack):
    upstream_port = int(stack.url.rsplit(":", 1)[1])

    async def scenario():
        # Cut right after the first custom frame (with its id), so the SDK resumes from that id.
        proxy = CuttingProxy(upstream_port, b'event: custom\r\ndata: {"sleeping":0.2}\r\nid: ')
        port = await proxy.start()
        client = get_client(url=f"http://127.0.0.1:{port}")
        thread = await client.threads.create()
        chunks = [
            chunk
            async for chunk in client.runs.stream(
                thread["thread_id"],
                "sleepy",
                input={"seconds": 0.2, "steps": 4},
                stream_mode=["custom", "updates"],
                stream_resumable=True,
            )
        ]
        proxy.server.close()
        return proxy.cuts, chunks

    cuts, chunks = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert cuts == 1
    names = [chunk.event for chunk in chunks]
    assert names.count("metadata") == 1
    assert names.count("custom") == 4
    assert names.count("updates") == 4
