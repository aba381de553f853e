"""The thread stream (GET /threads/{id}/stream) and join options, through the SDK and raw httpx."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.integration

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def collect_until(stream, predicate, timeout: float = 30) -> list:
    seen = []

    async def run():
        async for chunk in stream:
            seen.append(chunk)
            if predicate(chunk):
                return

    await asyncio.wait_for(run(), timeout)
    return seen


def run_done(chunk) -> bool:
    return chunk.event == "metadata" and chunk.data.get("status") == "run_done"


def test_thread_stream_state_update_mode_reports_post_state(stack):
    async def scenario():
        client = get_client(url=stack.url)
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, "echo", input=HI)
        stream = await client.threads.join_stream(thread_id, stream_mode="state_update")
        listener = asyncio.create_task(collect_until(stream, lambda c: c.event == "state_update"))
        await asyncio.sleep(0.5)
        await client.threads.update_state(thread_id, {"value": "changed"})
        return thread_id, await listener

    thread_id, seen = asyncio.run(scenario())
    assert [chunk.event for chunk in seen] == ["state_update"]
    assert seen[0].data["thread_id"] == thread_id
    assert seen[0].data["state"]["values"]["value"] == "changed"


def test_thread_stream_resumes_after_last_event_id_across_runs(stack):
    async def scenario():
        client = get_client(url=stack.url)
        thread_id = (await client.threads.create())["thread_id"]
        first = await client.runs.create(thread_id, "echo", input=HI)
        await client.runs.join(thread_id, first["run_id"])
        second = await client.runs.create(thread_id, "echo", input=HI)
        await client.runs.join(thread_id, second["run_id"])
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
            everything = await read_thread_frames(http, thread_id, "-", until_run_done=2)
            ended_before = sum(data.get("status") == "run_done" for _, data, _ in everything[:3])
            resumed = await read_thread_frames(http, thread_id, everything[2][2], until_run_done=2 - ended_before)
        return first, second, everything, resumed

    first, second, everything, resumed = asyncio.run(scenario())
    run_ids = [data["run_id"] for event, data, _ in everything if event == "metadata" and "attempt" in data]
    assert run_ids == [first["run_id"], second["run_id"]]
    assert [(e, d) for e, d, _ in resumed] == [(e, d) for e, d, _ in everything[3:]]
    assert all(event_id for _, _, event_id in everything)


async def read_thread_frames(http, thread_id: str, last_event_id: str, until_run_done: int) -> list:
    frames, done = [], 0
    headers = {"Last-Event-ID": last_event_id}
    async with http.stream("GET", f"/threads/{thread_id}/stream", headers=headers) as response:
        buffer = b""
        async for data in response.aiter_bytes():
            buffer += data
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                if not block or block.startswith(b":"):
                    continue
                fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n"))
                frames.append((fields[b"event"].decode(), json.loads(fields[b"data"]), fields[b"id"].decode()))
                done += frames[-1][1].get("status") == "run_done"
                if done == until_run_done:
                    return frames
    raise AssertionError(frames)


def test_join_with_cancel_on_disconnect_interrupts_the_run(stack, client):
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "sleepy", input={"seconds": 2, "steps": 20}, stream_mode="custom")
    with (
        httpx.Client(base_url=stack.url, timeout=30) as http,
        http.stream(
            "GET", f"/threads/{thread_id}/runs/{run['run_id']}/stream", params={"cancel_on_disconnect": "true"}
        ) as response,
    ):
        next(response.iter_lines())  # a custom event: the run is executing
    assert client.runs.join(thread_id, run["run_id"]) is not None
    assert client.runs.get(thread_id, run["run_id"])["status"] == "interrupted"


def test_stateless_stream_location_can_be_joined(stack):
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        body = {"assistant_id": "sleepy", "input": {"seconds": 0.2, "steps": 2}, "stream_resumable": True}
        body["stream_mode"] = "custom"
        with http.stream("POST", "/runs/stream", json=body) as response:
            location = response.headers["location"]
            first = next(response.iter_lines())
        assert first == "event: metadata"
        with http.stream("GET", location, headers={"Last-Event-ID": "-"}) as joined:
            text = b"".join(joined.iter_bytes()).decode()
    assert text.count("event: custom") == 2
