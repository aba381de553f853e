"""Streaming through langgraph_sdk, as a user sees it: every stream mode, subgraphs, joins, reconnects."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

pytestmark = pytest.mark.integration

HI = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def http(stack):
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def parts(client, thread_id, graph, graph_input, **kwargs) -> list:
    return list(client.runs.stream(thread_id, graph, input=graph_input, **kwargs))


def events_of(chunks, name):
    return [chunk.data for chunk in chunks if chunk.event == name]


def test_values_stream_starts_with_metadata_and_ends_with_final_state(client):
    thread = client.threads.create()
    chunks = parts(client, thread["thread_id"], "echo", HI)
    assert chunks[0].event == "metadata"
    assert set(chunks[0].data) == {"run_id", "attempt"} and chunks[0].data["attempt"] == 1
    values = events_of(chunks, "values")
    assert values[-1]["messages"][-1]["content"] == "echo: hi"
    assert {chunk.event for chunk in chunks} == {"metadata", "values"}


def test_stateless_stream_runs_without_a_thread(client):
    chunks = list(client.runs.stream(None, "echo", input=HI))
    assert chunks[0].event == "metadata"
    assert events_of(chunks, "values")[-1]["count"] == 1


def test_updates_mode_sends_node_updates(client):
    thread = client.threads.create()
    chunks = parts(client, thread["thread_id"], "echo", HI, stream_mode="updates")
    assert [chunk.event for chunk in chunks] == ["metadata", "updates"]
    assert chunks[1].data["echo"]["messages"][0]["content"] == "echo: hi"


def test_custom_mode_sends_what_the_node_wrote(client):
    chunks = parts(client, client.threads.create()["thread_id"], "sleepy", {"seconds": 0.01}, stream_mode="custom")
    assert events_of(chunks, "custom") == [{"sleeping": 0.01}]


def test_messages_mode_streams_tokens_as_accumulated_partials(client):
    chunks = parts(client, client.threads.create()["thread_id"], "chat", HI, stream_mode="messages")
    names = [chunk.event for chunk in chunks]
    assert names[0] == "metadata"
    assert names[1] == "messages/metadata"
    assert set(names[2:]) == {"messages/partial"}
    contents = [chunk.data[0]["content"] for chunk in chunks[2:]]
    assert contents[0] == "hello" and contents[-1] == "hello there friend"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(contents))
    (metadata,) = chunks[1].data.values()
    assert metadata["metadata"]["langgraph_node"] == "talk"


def test_messages_tuple_mode_sends_chunk_and_metadata_pairs(client):
    chunks = parts(client, client.threads.create()["thread_id"], "chat", HI, stream_mode="messages-tuple")
    tuples = events_of(chunks, "messages")
    assert "".join(message["content"] for message, _ in tuples) == "hello there friend"
    assert all(metadata["langgraph_node"] == "talk" for _, metadata in tuples)


def test_debug_tasks_checkpoints_and_events_modes(client):
    modes = ["debug", "tasks", "checkpoints", "events"]
    chunks = parts(client, client.threads.create()["thread_id"], "echo", HI, stream_mode=modes)
    debug = events_of(chunks, "debug")
    assert {d["type"] for d in debug} == {"checkpoint", "task", "task_result"}
    checkpoint = next(d for d in debug if d["type"] == "checkpoint")["payload"]
    assert checkpoint["checkpoint"]["checkpoint_id"] == checkpoint["config"]["configurable"]["checkpoint_id"]
    assert [t["name"] for t in events_of(chunks, "tasks")] == ["echo", "echo"]
    assert set(events_of(chunks, "checkpoints")[-1]) >= {"config", "metadata", "values", "next", "parent_config"}
    raw = events_of(chunks, "events")
    assert raw[0]["event"] == "on_chain_start"
    assert all(set(e) >= {"event", "name", "run_id", "tags", "metadata", "data"} for e in raw)


def test_several_modes_at_once_arrive_in_one_stream(client):
    modes = ["values", "updates", "messages-tuple", "custom"]
    chunks = parts(client, client.threads.create()["thread_id"], "chat", HI, stream_mode=modes)
    assert {chunk.event for chunk in chunks} == {"metadata", "values", "updates", "messages"}


def test_stream_subgraphs_names_nested_events_mode_pipe_namespace(client):
    thread = client.threads.create()
    chunks = parts(client, thread["thread_id"], "subgraph", {"items": []}, stream_mode="values", stream_subgraphs=True)
    nested = [chunk.event for chunk in chunks if "|" in chunk.event]
    assert nested and all(name.startswith("values|child:") for name in nested)
    plain = parts(client, client.threads.create()["thread_id"], "subgraph", {"items": []}, stream_mode="values")
    assert all("|" not in chunk.event for chunk in plain)


def test_interrupt_ends_values_with_interrupt_and_updates_with_interrupt(client):
    thread = client.threads.create()
    chunks = parts(client, thread["thread_id"], "interrupt", {"request": "r"}, stream_mode=["values", "updates"])
    last_values = events_of(chunks, "values")[-1]
    assert last_values["__interrupt__"][0]["value"] == {"question": "approve r?"}
    assert events_of(chunks, "updates")[-1]["__interrupt__"][0]["value"] == {"question": "approve r?"}


def test_interrupt_before_first_node_updates_with_empty_interrupt(client):
    thread = client.threads.create()
    chunks = parts(
        client, thread["thread_id"], "interrupt", {"request": "r"}, stream_mode="updates", interrupt_before=["ask"]
    )
    assert events_of(chunks, "updates") == [{"__interrupt__": []}]


def test_failing_graph_streams_error_event(client):
    chunks = parts(client, client.threads.create()["thread_id"], "fail", {"value": "x"})
    assert chunks[-1].event == "error"
    assert chunks[-1].data == {"error": "ValueError", "message": "kaboom"}


def test_join_mid_run_sees_the_rest_and_join_after_end_is_empty(client):
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "sleepy", input={"seconds": 0.3, "steps": 4}, stream_mode="custom")
    joined = list(client.runs.join_stream(thread_id, run["run_id"]))
    assert 1 <= len(events_of(joined, "custom")) <= 4
    assert client.runs.get(thread_id, run["run_id"])["status"] == "success"
    assert list(client.runs.join_stream(thread_id, run["run_id"])) == []


def test_join_with_last_event_id_replays_from_any_point_without_loss_or_duplicates(client, http):
    thread_id = client.threads.create()["thread_id"]
    body = {"assistant_id": "sleepy", "input": {"seconds": 0.01, "steps": 3}, "stream_mode": ["custom", "updates"]}
    body["stream_resumable"] = True
    with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        full = parse_sse(b"".join(response.iter_bytes()))
    ids = [event_id for _, _, event_id in full]
    assert all(ids) and len(set(ids)) == len(ids)
    for index in (0, 2, len(full) - 2, len(full) - 1):
        replay = list(client.runs.join_stream(thread_id, run_id, last_event_id=ids[index]))
        assert [(c.event, c.data) for c in replay] == [(e, d) for e, d, _ in full[index + 1 :]]
    everything = list(client.runs.join_stream(thread_id, run_id, last_event_id="-1"))
    assert [(c.event, c.data) for c in everything] == [(e, d) for e, d, _ in full]


def test_join_stream_filters_by_stream_mode(client):
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(
        thread_id,
        "sleepy",
        input={"seconds": 0.01, "steps": 2},
        stream_mode=["custom", "updates"],
        stream_resumable=True,
    )
    client.runs.join(thread_id, run["run_id"])
    replay = list(client.runs.join_stream(thread_id, run["run_id"], stream_mode="custom", last_event_id="-"))
    assert [chunk.event for chunk in replay] == ["custom", "custom"]


def test_on_disconnect_cancel_interrupts_the_run_when_the_client_leaves(client, http):
    thread_id = client.threads.create()["thread_id"]
    body = {"assistant_id": "sleepy", "input": {"seconds": 2, "steps": 20}, "on_disconnect": "cancel"}
    with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        next(response.iter_lines())  # the run has started
    status = wait_for_status(client, thread_id, run_id, {"interrupted", "success", "error"})
    assert status == "interrupted"


def test_on_disconnect_continue_keeps_the_run_going(client, http):
    thread_id = client.threads.create()["thread_id"]
    body = {"assistant_id": "sleepy", "input": {"seconds": 0.3, "steps": 2}}
    with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        next(response.iter_lines())
    assert wait_for_status(client, thread_id, run_id, {"interrupted", "success", "error"}) == "success"


def test_thread_stream_multiplexes_runs_and_reports_run_done(client):
    thread_id = client.threads.create()["thread_id"]
    seen = []

    async def scenario():
        from langgraph_sdk import get_client

        aclient = get_client(url=str(client.http.client.base_url))

        async def listen():
            async for chunk in await aclient.threads.join_stream(thread_id):
                seen.append(chunk)
                if chunk.event == "metadata" and chunk.data.get("status") == "run_done":
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)
        run = await aclient.runs.create(thread_id, "echo", input=HI)
        await asyncio.wait_for(listener, 30)
        return run

    run = asyncio.run(scenario())
    assert seen[0].event == "metadata" and seen[0].data == {"run_id": run["run_id"], "attempt": 1}
    assert seen[-1].data == {"status": "run_done", "run_id": run["run_id"]}
    assert any(chunk.event == "values" for chunk in seen)


def test_hundred_concurrent_streams_all_complete(aclient):
    async def one():
        thread = await aclient.threads.create()
        chunks = [chunk async for chunk in aclient.runs.stream(thread["thread_id"], "echo", input=HI)]
        return chunks[0].event, chunks[-1].data["count"]

    async def all_of_them():
        return await asyncio.gather(*(one() for _ in range(100)))

    results = asyncio.run(asyncio.wait_for(all_of_them(), 120))
    assert results == [("metadata", 1)] * 100


def wait_for_status(client, thread_id, run_id, statuses, timeout=30.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.runs.get(thread_id, run_id)["status"]
        if status in statuses:
            return status
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {status}")


def parse_sse(raw: bytes) -> list[tuple[str, object, str | None]]:
    import json

    out = []
    for block in raw.split(b"\r\n\r\n"):
        if not block.strip() or block.startswith(b":"):
            continue
        fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n") if not line.startswith(b":"))
        event_id = fields.get(b"id")
        out.append((fields[b"event"].decode(), json.loads(fields[b"data"]), event_id.decode() if event_id else None))
    return out


def test_a_client_that_does_not_read_never_holds_the_run_back(client, http):
    thread_id = client.threads.create()["thread_id"]
    body = {"assistant_id": "sleepy", "input": {"seconds": 0, "steps": 200}, "stream_mode": "custom"}
    with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        # Nothing read yet: the run still finishes, because the worker only appends to the log.
        client.runs.join(thread_id, run_id)
        assert client.runs.get(thread_id, run_id)["status"] == "success"
        raw = b"".join(response.iter_bytes())
    assert raw.count(b"event: custom\r\n") == 200


def test_remote_graph_streams_through_the_server(stack, client):
    from langgraph.pregel.remote import RemoteGraph

    remote = RemoteGraph("subgraph", url=stack.url)
    config = {"configurable": {"thread_id": client.threads.create()["thread_id"]}}
    chunks = list(remote.stream({"items": []}, config, stream_mode="updates", subgraphs=True))
    namespaces = {namespace for namespace, _ in chunks}
    assert () in namespaces and any(ns and ns[0].startswith("child:") for ns in namespaces)
    assert remote.invoke({"items": []}, config)["items"][-1] == "child"
