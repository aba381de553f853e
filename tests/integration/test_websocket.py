"""The websocket stream endpoint (/ws): subscribe to a run or a thread, resume from an event id."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from websockets.asyncio.client import connect

pytestmark = pytest.mark.integration

HI = {"messages": [{"role": "user", "content": "hi"}]}


def ws_url(stack) -> str:
    return stack.url.replace("http://", "ws://") + "/ws"


async def receive_until(ws, predicate, limit: int = 200) -> list[dict]:
    messages = []
    for _ in range(limit):
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        messages.append(message)
        if predicate(message):
            return messages
    raise AssertionError(messages)


def test_subscribe_to_a_finished_run_replays_its_events_then_ends(stack, client):
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "echo", input=HI, stream_mode=["values", "updates"])
    client.runs.join(thread_id, run["run_id"])

    async def scenario():
        async with connect(ws_url(stack)) as ws:
            subscribe = {"type": "subscribe", "id": "s1", "thread_id": thread_id, "run_id": run["run_id"]}
            await ws.send(json.dumps({**subscribe, "last_event_id": "-"}))
            return await receive_until(ws, lambda m: m["type"] == "end")

    messages = asyncio.run(scenario())
    assert messages[0] == {"type": "subscribed", "id": "s1"}
    assert messages[-1] == {"type": "end", "id": "s1"}
    events = messages[1:-1]
    assert [m["event"] for m in events] == ["metadata", "values", "updates", "values"]
    assert events[0]["data"] == {"run_id": run["run_id"], "attempt": 1}
    assert events[-1]["data"]["messages"][-1]["content"] == "echo: hi"
    assert all(m["id"] == "s1" and m["event_id"] for m in events)

    async def resume():
        async with connect(ws_url(stack)) as ws:
            subscribe = {"type": "subscribe", "id": "s2", "thread_id": thread_id, "run_id": run["run_id"]}
            await ws.send(json.dumps({**subscribe, "last_event_id": events[1]["event_id"]}))
            return await receive_until(ws, lambda m: m["type"] == "end")

    assert [m.get("event") for m in asyncio.run(resume())[1:-1]] == ["updates", "values"]


def test_thread_subscription_sees_a_new_run_live_with_run_done(stack, client):
    thread_id = client.threads.create()["thread_id"]

    async def scenario():
        async with connect(ws_url(stack)) as ws:
            await ws.send(json.dumps({"type": "subscribe", "id": "t", "thread_id": thread_id}))
            assert json.loads(await ws.recv()) == {"type": "subscribed", "id": "t"}
            run = await asyncio.to_thread(client.runs.create, thread_id, "echo", input=HI)
            messages = await receive_until(ws, lambda m: m.get("data", {}).get("status") == "run_done")
            return run, messages

    run, messages = asyncio.run(scenario())
    assert messages[0]["event"] == "metadata" and messages[0]["data"]["run_id"] == run["run_id"]
    assert messages[-1]["data"] == {"status": "run_done", "run_id": run["run_id"]}


def test_bad_subscriptions_get_error_messages_and_the_socket_stays_open(stack, client):
    thread_id = client.threads.create()["thread_id"]

    async def scenario():
        async with connect(ws_url(stack)) as ws:
            await ws.send(
                json.dumps({"type": "subscribe", "id": "a", "thread_id": thread_id, "run_id": str(uuid.uuid4())})
            )
            unknown = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "subscribe", "id": "b", "thread_id": "nope"}))
            invalid = json.loads(await ws.recv())
            await ws.send("not json")
            garbage = json.loads(await ws.recv())
            return unknown, invalid, garbage

    unknown, invalid, garbage = asyncio.run(scenario())
    assert unknown == {"type": "error", "id": "a", "detail": "Run not found"}
    assert invalid == {"type": "error", "id": "b", "detail": "Invalid thread ID: must be a UUID"}
    assert garbage["type"] == "error"
