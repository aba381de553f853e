"""The thread-centric stream (`client.threads.stream()`: POST /threads/{id}/commands, POST
/threads/{id}/stream/events and its websocket form) driven by the official client against the real stack.

Expected shapes are the official server's (langgraph-api 0.16.7), seen on the wire: a root `lifecycle` `running`
event, the state as `values`, token-by-token `messages` content blocks, `input.requested` then `lifecycle`
`interrupted` on a pause, and `lifecycle` `completed` at the end; `seq` grows, `since` resumes after a seq.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid

import httpx
import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.integration
TRANSPORTS = ["sse", "websocket"]
ALL_CHANNELS = ["values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks", "custom"]


def sync(test):
    """The suite has no asyncio plugin: each scenario runs on its own event loop."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run


def _lifecycle(event: dict) -> str | None:
    if event.get("method") != "lifecycle" or event["params"]["namespace"]:
        return None
    return event["params"]["data"]["event"]


async def _until(events, stop, timeout: float = 15.0) -> list[dict]:
    """Events of an async iterator up to and including the first for which stop(event) holds."""
    seen: list[dict] = []

    async def collect() -> None:
        async for event in events:
            seen.append(event)
            if stop(event):
                return

    await asyncio.wait_for(collect(), timeout)
    return seen


def _ended(event: dict) -> bool:
    return _lifecycle(event) in ("completed", "failed")


async def _sse_events(url: str, thread_id: str, body: dict, stop, timeout: float = 15.0) -> list[dict]:
    """Raw SSE events of POST /threads/{id}/stream/events, as (parsed) data, until stop(event)."""
    seen: list[dict] = []
    async with (
        httpx.AsyncClient(base_url=url, timeout=timeout) as http,
        http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as response,
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")

        async def collect() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if stop(seen[-1]):
                        return

        await asyncio.wait_for(collect(), timeout)
    return seen


@pytest.mark.parametrize("transport", TRANSPORTS)
@sync
async def test_run_start_streams_lifecycle_values_and_creates_the_thread(stack, transport):
    client = get_client(url=stack.url)
    async with client.threads.stream(assistant_id="echo", transport=transport) as thread:
        events = thread.subscribe(["values", "lifecycle"])
        result = await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        seen = await _until(events, _ended)
        output = await asyncio.wait_for(thread.output, 15)
    assert set(result) == {"run_id"}
    assert [_lifecycle(e) for e in seen if e["method"] == "lifecycle"] == ["running", "completed"]
    assert seen[0]["params"]["data"] == {"event": "running", "graph_name": "echo"}
    values = [e["params"]["data"] for e in seen if e["method"] == "values"]
    assert values[-1]["count"] == 1
    assert values[-1]["messages"][-1] == {"type": "ai", "content": "echo: hi", "id": values[-1]["messages"][-1]["id"]}
    assert output["count"] == 1
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["type"] == "event" and isinstance(e["event_id"], str) for e in seen)
    # The thread the client minted an id for exists now, as officially (lazy creation on the first run.start).
    assert (await client.threads.get(thread.thread_id))["thread_id"] == thread.thread_id


@pytest.mark.parametrize("transport", TRANSPORTS)
@sync
async def test_messages_arrive_token_by_token(stack, transport):
    client = get_client(url=stack.url)
    async with client.threads.stream(assistant_id="chat", transport=transport) as thread:
        streams: asyncio.Queue = asyncio.Queue()

        async def messages() -> None:
            async for message in thread.messages:
                await streams.put(message)

        task = asyncio.create_task(messages())
        await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        message = await asyncio.wait_for(streams.get(), 15)
        tokens = [token async for token in message.text]
        task.cancel()
    assert tokens == ["hello", " ", "there", " ", "friend"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@sync
async def test_interrupt_then_respond_on_the_open_stream(stack, transport):
    client = get_client(url=stack.url)
    async with client.threads.stream(assistant_id="interrupt", transport=transport) as thread:
        await thread.run.start(input={"request": "leave"})
        for _ in range(300):
            if thread.interrupted:
                break
            await asyncio.sleep(0.05)
        assert thread.interrupted and len(thread.interrupts) == 1
        interrupt_id = thread.interrupts[0]["interrupt_id"]
        # The SDK ends its subscriptions at an interrupt; a new one is registered at its first step. Registered
        # only after `respond`, it raced the resumed run: `running` could pass on the shared stream before it
        # existed, and when that stream already covers its channels nothing is replayed to it. So it starts (one
        # loop step) first.
        following = asyncio.ensure_future(_until(thread.subscribe(["lifecycle", "input", "values"]), _ended))
        await asyncio.sleep(0)
        assert await thread.run.respond("yes") == {}
        resumed = await following
        output = await asyncio.wait_for(thread.output, 15)
    # When the subscription widened the shared stream, its new stream replayed the thread's history first.
    assert [_lifecycle(e) for e in resumed if _lifecycle(e)][-2:] == ["running", "completed"]
    assert output == {"request": "leave", "approved": "yes", "steps": ["ask", "finish"]}
    body = {"channels": ["lifecycle", "input"]}
    history = await _sse_events(stack.url, thread.thread_id, body, lambda e: _lifecycle(e) == "completed")
    assert [e["method"] if e["method"] != "lifecycle" else _lifecycle(e) for e in history] == [
        "running",
        "input.requested",
        "interrupted",
        "running",
        "completed",
    ]
    assert history[1]["params"]["data"] == {"interrupt_id": interrupt_id, "payload": {"question": "approve leave?"}}


@sync
async def test_two_runs_on_one_open_stream(stack):
    thread_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=stack.url, timeout=15) as http:

        async def start(command_id: int, value: str) -> str:
            params = {"assistant_id": "echo", "input": {"value": value}}
            answer = await http.post(
                f"/threads/{thread_id}/commands", json={"id": command_id, "method": "run.start", "params": params}
            )
            return answer.json()["result"]["run_id"]

        # The stream is open before the thread exists: nothing is lost between subscribing and the run's start.
        events = await _two_runs(stack.url, thread_id, {"channels": ["lifecycle", "values"]}, start)
    endings = [_lifecycle(e) for e in events if _lifecycle(e)]
    assert endings == ["running", "completed", "running", "completed"]
    counts = [e["params"]["data"]["count"] for e in events if e["method"] == "values"]
    assert counts[-1] == 2


async def _two_runs(url: str, thread_id: str, body: dict, start) -> list[dict]:
    seen: list[dict] = []
    async with (
        httpx.AsyncClient(base_url=url, timeout=15) as http,
        http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        await start(1, "one")

        async def until_ended(count: int) -> None:
            async for line in lines:
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if sum(1 for e in seen if _ended(e)) == count:
                        return

        await asyncio.wait_for(until_ended(1), 15)
        await start(2, "two")
        await asyncio.wait_for(until_ended(2), 15)
    return seen


@sync
async def test_reconnect_with_since_replays_the_rest_without_duplicates(stack):
    client = get_client(url=stack.url)
    async with client.threads.stream(assistant_id="chat") as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        await asyncio.wait_for(thread.output, 15)
    body = {"channels": ALL_CHANNELS}
    everything = await _sse_events(stack.url, thread.thread_id, body, _ended)
    assert [e["method"] for e in everything].count("messages") >= 7  # start, block start, 5 deltas, ...
    for cut in (1, len(everything) // 2, len(everything) - 1):
        rest = await _sse_events(stack.url, thread.thread_id, {**body, "since": everything[cut - 1]["seq"]}, _ended)
        assert rest == everything[cut:]


@sync
async def test_a_filtered_stream_keeps_the_seq_of_the_full_stream(stack):
    client = get_client(url=stack.url)
    async with client.threads.stream(assistant_id="chat") as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        await asyncio.wait_for(thread.output, 15)
    everything = await _sse_events(stack.url, thread.thread_id, {"channels": ALL_CHANNELS}, _ended)
    lifecycle = await _sse_events(stack.url, thread.thread_id, {"channels": ["lifecycle"]}, _ended)
    assert lifecycle == [e for e in everything if e["method"] == "lifecycle"]


@sync
async def test_a_second_api_process_serves_the_reconnect(stack, tmp_path):
    from tests.stack import Stack

    other = Stack(base_env=stack.base_env, log_dir=tmp_path)
    other.database_uri = stack.database_uri
    other.start_api()
    try:
        client = get_client(url=stack.url)
        async with client.threads.stream(assistant_id="chat") as thread:
            await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
            await asyncio.wait_for(thread.output, 15)
        body = {"channels": ALL_CHANNELS}
        first = await _sse_events(stack.url, thread.thread_id, body, _ended)
        cut = len(first) // 2
        rest = await _sse_events(other.url, thread.thread_id, {**body, "since": first[cut - 1]["seq"]}, _ended)
        assert rest == first[cut:]
    finally:
        other.stop_all()


@sync
async def test_bad_commands_and_subscriptions_get_the_official_errors(stack):
    thread_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=stack.url, timeout=15) as http:
        commands = f"/threads/{thread_id}/commands"
        malformed = await http.post(commands, json={"id": "x", "method": "run.start"})
        assert malformed.status_code == 400
        assert malformed.json() == {
            "type": "error",
            "id": "x",
            "error": "invalid_argument",
            "message": "Protocol commands must include an integer id and string method.",
        }
        unknown = await http.post(commands, json={"id": 1, "method": "run.cancel"})
        assert (unknown.status_code, unknown.json()["error"]) == (200, "unknown_command")
        no_assistant = await http.post(commands, json={"id": 2, "method": "run.start", "params": {}})
        assert no_assistant.json() == {
            "type": "error",
            "id": 2,
            "error": "invalid_argument",
            "message": "run.start requires an assistant_id.",
        }
        respond = await http.post(commands, json={"id": 3, "method": "input.respond", "params": {"interrupt_id": "z"}})
        assert respond.json()["error"] == "no_such_run"
        # What the run engine refuses keeps its status and {"detail"} (officially an `unknown_error` envelope).
        missing = await http.post(commands, json={"id": 4, "method": "run.start", "params": {"assistant_id": "nope"}})
        assert missing.status_code == 422 and "detail" in missing.json()
        stream = f"/threads/{thread_id}/stream/events"
        empty = await http.post(stream, json={"channels": []})
        assert (empty.status_code, empty.json()) == (
            400,
            {"detail": "channels is required and must be a non-empty array"},
        )
        bogus = await http.post(stream, json={"channels": ["bogus"]})
        assert bogus.status_code == 400 and bogus.json()["detail"].startswith("channels contains unsupported entries")
        no_body = await http.post(stream, headers={"content-type": "application/json"})
        assert (no_body.status_code, no_body.json()) == (400, {"detail": "Invalid JSON body"})


@sync
async def test_another_users_thread_is_not_found(auth_stack):
    owner = get_client(url=auth_stack.url, headers={"Authorization": "Bearer user1-token"})
    async with owner.threads.stream(assistant_id="echo") as thread:
        await thread.run.start(input={"value": "mine"})
        assert (await asyncio.wait_for(thread.output, 15))["value"] == "mine"
    other = {"Authorization": "Bearer user2-token"}
    async with httpx.AsyncClient(base_url=auth_stack.url, timeout=15, headers=other) as http:
        command = {"id": 1, "method": "run.start", "params": {"assistant_id": "echo", "input": {"value": "theirs"}}}
        started = await http.post(f"/threads/{thread.thread_id}/commands", json=command)
        assert started.status_code == 404
        stream = await http.post(f"/threads/{thread.thread_id}/stream/events", json={"channels": ["values"]})
        assert stream.status_code == 404
        assert stream.json() == {"detail": f"Thread with ID {thread.thread_id} not found"}
    intruder = get_client(url=auth_stack.url, headers=other)
    async with intruder.threads.stream(thread.thread_id, assistant_id="echo", transport="websocket") as theirs:
        with pytest.raises(Exception):  # noqa: B017 - the transport's own error types
            await asyncio.wait_for(_until(theirs.subscribe(["values"]), lambda e: True), 5)
