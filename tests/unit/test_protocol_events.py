"""The worker's side of the thread-centric protocol: LangGraph's protocol stream -> one log entry per wire event,
in the shapes the official server sends (seen on its wire: langgraph-api 0.16.7)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Interrupt

from runs.streams.protocol_events import _Shaper, entry_name, is_protocol_run, parse_entry_name, protocol_stream
from runs.streams.protocol_messages import state_payload

_spec = importlib.util.spec_from_file_location(
    "protocol_test_graphs", Path(__file__).resolve().parent.parent / "graphs" / "graphs.py"
)
graphs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = graphs
_spec.loader.exec_module(graphs)


def _entries(graph, graph_input, config=None) -> list[tuple[str, dict]]:
    async def run():
        stream = protocol_stream(graph, graph_input, config or {}, graph_name="g")
        return [(entry.name, entry.params) async for entry in stream if entry.name]

    return asyncio.run(run())


def _event(method: str, data, namespace=(), **params) -> dict:
    return {"type": "event", "method": method, "params": {"namespace": list(namespace), "data": data, **params}}


def test_entry_names_carry_method_and_namespace():
    assert entry_name("values", []) == "@values"
    assert entry_name("messages", ["child:1", "x"]) == "@messages|child:1|x"
    assert parse_entry_name("@messages|child:1|x") == ("messages", ["child:1", "x"])
    assert parse_entry_name("values") is None  # an entry of an ordinary run
    assert parse_entry_name("@input.requested") == ("input.requested", [])


def test_protocol_runs_are_the_marked_ones():
    assert is_protocol_run({"config": {"configurable": {"__event_streaming_v2": True}}})
    assert not is_protocol_run({"config": {"configurable": {}}})
    assert not is_protocol_run({})


def test_a_run_opens_with_running_then_streams_values():
    entries = _entries(graphs.echo, {"messages": [{"role": "user", "content": "hi"}]})
    assert [name for name, _ in entries] == ["@lifecycle", "@values", "@values"]
    assert entries[0][1]["data"] == {"event": "running", "graph_name": "g"}
    last = entries[-1][1]
    assert last["namespace"] == [] and isinstance(last["timestamp"], int)
    human, ai = last["data"]["messages"]
    assert human == {"type": "human", "content": "hi", "id": human["id"]}
    assert ai == {"type": "ai", "content": "echo: hi", "id": ai["id"]}


def test_a_chat_model_streams_content_blocks_token_by_token():
    entries = _entries(graphs.chat, {"messages": [{"role": "user", "content": "hi"}]})
    messages = [params["data"] for name, params in entries if name == "@messages"]
    assert [m["event"] for m in messages][:2] == ["message-start", "content-block-start"]
    assert [m["delta"]["text"] for m in messages if m["event"] == "content-block-delta"] == [
        "hello",
        " ",
        "there",
        " ",
        "friend",
    ]
    assert messages[-1]["event"] == "message-finish"


def test_an_interrupt_is_requested_then_announced_before_its_values():
    graph = graphs.interrupt_graph.copy()
    graph.checkpointer = InMemorySaver()
    entries = _entries(graph, {"request": "x"}, {"configurable": {"thread_id": "t"}})
    names = [name for name, _ in entries]
    assert names == ["@lifecycle", "@values", "@input.requested", "@lifecycle", "@values"]
    requested = entries[2][1]["data"]
    assert requested["payload"] == {"question": "approve x?"} and isinstance(requested["interrupt_id"], str)
    assert entries[3][1]["data"] == {"event": "interrupted", "graph_name": "g"}
    assert "__interrupt__" not in entries[4][1]["data"]


def test_each_interrupt_is_requested_once_and_the_root_state_keeps_it_for_the_executor():
    shaper = _Shaper("g")
    interrupt = Interrupt(value={"q": 1}, id="i1")
    first = shaper.shape(_event("values", {"a": 1}, interrupts=[interrupt]))
    again = shaper.shape(_event("values", {"a": 1}, interrupts=[interrupt]))
    assert [entry.name for entry in first] == ["@input.requested", "@lifecycle", "@values"]
    assert [entry.name for entry in again] == ["@values"]
    assert first[-1].state["__interrupt__"] == [interrupt]


def test_an_empty_state_is_not_sent_but_reaches_the_executor():
    (entry,) = _Shaper("g").shape(_event("values", {}))
    assert entry.name == "" and entry.state == {}


def test_subgraph_lifecycle_moves_to_the_subgraph_namespace_and_the_root_one_is_dropped():
    shaper = _Shaper("g")
    started = {"event": "started", "namespace": ["child:1"], "graph_name": "child", "trigger_call_id": "1"}
    (entry,) = shaper.shape(_event("lifecycle", started))
    assert entry.name == "@lifecycle|child:1" and entry.params["data"] == started
    assert shaper.shape(_event("lifecycle", started)) == []  # announced once
    (done,) = shaper.shape(_event("lifecycle", {"event": "completed", "namespace": ["child:1"]}))
    assert done.params["data"] == {"event": "completed", "graph_name": "child"}
    assert shaper.shape(_event("lifecycle", {"event": "completed"})) == []


def test_legacy_message_tuples_are_not_protocol_messages():
    assert _Shaper("g").shape(_event("messages", [{"type": "ai", "content": "x"}, {}])) == []
    (entry,) = _Shaper("g").shape(_event("messages", [{"event": "message-finish"}, {"langgraph_node": "n"}]))
    assert entry.params["data"] == {"event": "message-finish"}


def test_named_custom_streams_become_custom_events_with_their_name():
    (entry,) = _Shaper("g").shape(_event("custom:progress", {"pct": 5}))
    assert entry.name == "@custom:progress"
    assert entry.params["data"] == {"name": "progress", "payload": {"pct": 5}}


def test_state_messages_take_the_protocol_shape():
    state = {
        "messages": [
            {"type": "human", "content": "hi", "id": "1", "additional_kwargs": {}, "response_metadata": {}},
            {
                "type": "ai",
                "content": [{"type": "text", "text": "yo"}, "plain"],
                "id": "2",
                "name": None,
                "tool_calls": [{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}],
                "response_metadata": {"model": "m"},
            },
            {"type": "tool", "content": "3", "tool_call_id": "c1", "status": "success", "artifact": None},
        ],
        "__interrupt__": [],
        "nested": {"messages": [{"type": "user", "content": "x"}]},
    }
    assert state_payload(state) == {
        "messages": [
            {"type": "human", "content": "hi", "id": "1"},
            {
                "type": "ai",
                "content": [{"type": "text", "text": "yo"}, {"type": "text", "text": "plain"}],
                "id": "2",
                "response_metadata": {"model": "m"},
                "tool_calls": [{"type": "tool_call", "name": "add", "args": {"a": 1}, "id": "c1"}],
            },
            {"type": "tool", "content": "3", "tool_call_id": "c1", "status": "success"},
        ],
        "nested": {"messages": [{"type": "human", "content": "x"}]},
    }
