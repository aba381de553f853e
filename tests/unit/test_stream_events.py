"""The graph-stream -> SSE event mapping, checked against the official server's event names and shapes."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentplatform import serde
from runs.streams.stream_events import requested, stream_graph

_spec = importlib.util.spec_from_file_location(
    "stream_test_graphs", Path(__file__).resolve().parent.parent / "graphs" / "graphs.py"
)
graphs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = graphs  # TypedDict annotations are resolved through sys.modules
_spec.loader.exec_module(graphs)

CONFIG = {"configurable": {"thread_id": "t1"}}
HI = {"messages": [{"role": "user", "content": "hi"}]}


def collect(graph, graph_input, modes, **kwargs) -> list[tuple[str, object]]:
    async def run():
        return [
            (name, serde.to_jsonable(payload))
            async for name, payload in stream_graph(graph, graph_input, CONFIG, stream_modes=modes, **kwargs)
        ]

    return asyncio.run(run())


def with_checkpointer(graph):
    return graph.copy(update={"checkpointer": InMemorySaver()})


def test_messages_mode_sends_metadata_once_then_accumulated_partials():
    events = [(n, p) for n, p in collect(graphs.chat, HI, ["messages"]) if n.startswith("messages")]
    assert events[0][0] == "messages/metadata"
    ((message_id, body),) = events[0][1].items()
    assert body["metadata"]["langgraph_node"] == "talk"
    partials = [p for n, p in events[1:]]
    assert {n for n, _ in events[1:]} == {"messages/partial"}
    assert all(p[0]["id"] == message_id for p in partials)
    assert partials[0][0]["content"] == "hello"
    assert partials[-1][0]["content"] == "hello there friend"
    # The official server sends the accumulation as a message, not a chunk.
    assert {p[0]["type"] for p in partials} == {"ai"}
    assert "tool_call_chunks" not in partials[-1][0]


def test_messages_tuple_mode_sends_messages_events_with_chunk_and_metadata():
    events = [(n, p) for n, p in collect(graphs.chat, HI, ["messages-tuple"]) if n.startswith("messages")]
    assert {n for n, _ in events} == {"messages"}
    assert "".join(chunk["content"] for (_, (chunk, _meta)) in events) == "hello there friend"
    assert all(meta["langgraph_node"] == "talk" for (_, (_chunk, meta)) in events)


def test_updates_are_keyed_by_node():
    updates = [p for n, p in collect(graphs.echo, {"value": "x"}, ["updates"]) if n == "updates"]
    assert len(updates) == 1
    assert updates[0]["echo"]["count"] == 1
    assert updates[0]["echo"]["messages"][0]["content"] == "echo: x"


def test_values_are_always_yielded_for_the_executor_even_when_not_requested():
    names = [n for n, _ in collect(graphs.echo, {"value": "x"}, ["updates"])]
    assert "values" in names
    assert not requested("values", ["updates"])


def test_subgraph_events_are_named_mode_pipe_namespace_only_with_stream_subgraphs():
    names = [n for n, _ in collect(graphs.parent, {"items": []}, ["values", "updates"], subgraphs=True)]
    nested = [n for n in names if "|" in n]
    assert nested and all(n.split("|")[1].startswith("child:") for n in nested)
    assert {n.split("|")[0] for n in nested} == {"values", "updates"}
    flat = [n for n, _ in collect(graphs.parent, {"items": []}, ["values", "updates"])]
    assert all("|" not in n for n in flat)


def test_interrupt_puts_interrupt_in_updates_and_final_values():
    events = collect(with_checkpointer(graphs.interrupt_graph), {"request": "r"}, ["values", "updates"])
    updates = [p for n, p in events if n == "updates"]
    assert updates[-1]["__interrupt__"][0]["value"] == {"question": "approve r?"}
    final_values = [p for n, p in events if n == "values"][-1]
    assert final_values["request"] == "r"
    assert final_values["__interrupt__"][0]["value"] == {"question": "approve r?"}
    assert set(final_values["__interrupt__"][0]) >= {"value", "id"}


def test_interrupt_before_first_node_sends_empty_interrupt_update():
    graph = with_checkpointer(graphs.interrupt_graph)
    events = collect(graph, {"request": "r"}, ["updates"], interrupt_before=["ask"])
    assert [p for n, p in events if n == "updates"] == [{"__interrupt__": []}]


def test_custom_mode_forwards_what_the_node_wrote():
    events = collect(graphs.sleepy, {"seconds": 0}, ["custom"])
    assert [p for n, p in events if n == "custom"] == [{"sleeping": 0}]


def test_debug_checkpoints_gain_checkpoint_and_parent_checkpoint():
    events = collect(with_checkpointer(graphs.echo), {"value": "x"}, ["debug"])
    debug = [p for n, p in events if n == "debug"]
    assert {d["type"] for d in debug} == {"checkpoint", "task", "task_result"}
    checkpoint = next(d for d in debug if d["type"] == "checkpoint")["payload"]
    assert checkpoint["checkpoint"]["thread_id"] == "t1"
    assert checkpoint["checkpoint"]["checkpoint_id"] == checkpoint["config"]["configurable"]["checkpoint_id"]
    assert "parent_checkpoint" in checkpoint


def test_tasks_and_checkpoints_modes():
    events = collect(with_checkpointer(graphs.echo), {"value": "x"}, ["tasks", "checkpoints"])
    tasks = [p for n, p in events if n == "tasks"]
    assert tasks[0]["name"] == "echo" and set(tasks[0]) >= {"id", "name", "input", "triggers"}
    assert set(tasks[1]) >= {"id", "name", "error", "result", "interrupts"}
    checkpoints = [p for n, p in events if n == "checkpoints"]
    assert set(checkpoints[-1]) >= {"config", "metadata", "values", "next", "parent_config", "tasks"}


def test_events_mode_sends_astream_events_v2_dicts_and_still_decodes_modes():
    events = collect(graphs.echo, {"value": "x"}, ["events", "values"])
    raw = [p for n, p in events if n == "events"]
    assert raw[0]["event"] == "on_chain_start" and raw[0]["name"] == "LangGraph"
    assert all(set(e) >= {"event", "name", "run_id", "tags", "metadata", "data"} for e in raw)
    assert any(e["event"] == "on_chain_end" and e["name"] == "echo" for e in raw)
    assert [n for n, _ in events].count("values") == 2


@pytest.mark.parametrize(
    ("event", "modes", "expected"),
    [
        ("values", ["values"], True),
        ("values|child:1", ["values"], True),
        ("updates", ["values"], False),
        ("messages/partial", ["messages"], True),
        ("messages/metadata", ["messages-tuple"], True),
        ("messages", ["messages-tuple"], True),
        ("metadata", ["updates"], False),
        ("error", ["updates"], False),
        ("custom", [], True),
    ],
)
def test_requested_follows_the_official_join_filter(event, modes, expected):
    assert requested(event, modes) is expected


def test_context_reaches_the_graph_in_every_mode():
    from dataclasses import dataclass

    from langgraph.graph import START, StateGraph
    from langgraph.runtime import Runtime

    @dataclass
    class Context:
        greeting: str

    def greet(state: dict, runtime: Runtime[Context]) -> dict:
        return {"value": runtime.context.greeting}

    graph = (
        StateGraph(graphs.EchoState, context_schema=Context).add_node("greet", greet).add_edge(START, "greet").compile()
    )
    for modes in (["values"], ["events", "values"]):
        events = collect(graph, {"value": "x"}, modes, context=Context(greeting="hey"))
        assert [p for n, p in events if n == "values"][-1]["value"] == "hey"
