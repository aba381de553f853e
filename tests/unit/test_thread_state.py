"""StateSnapshot -> official ThreadState JSON, thread-row interrupts and statuses, Command bodies."""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from langgraph.types import Command, Interrupt, PregelTask, Send, StateSnapshot

from threads.state import (
    command_from_json,
    config_to_checkpoint,
    empty_thread_state,
    interrupts_by_task,
    snapshot_to_dict,
    status_from_snapshot,
)

CONFIG = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c2"}}
PARENT = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c1"}}


def snapshot(tasks=(), next_=(), metadata=None, interrupts=()) -> StateSnapshot:
    return StateSnapshot(
        values={"messages": [HumanMessage(content="hi", id="m1")]},
        next=next_,
        config=CONFIG,
        metadata=metadata if metadata is not None else {"source": "loop", "step": 1, "parents": {}},
        created_at="2026-01-01T00:00:00+00:00",
        parent_config=PARENT,
        tasks=tasks,
        interrupts=interrupts,
    )


def interrupted_task() -> PregelTask:
    return PregelTask("task-1", "ask", ("__pregel_pull", "ask"), interrupts=(Interrupt(value={"q": 1}, id="i-1"),))


def test_snapshot_to_dict_has_every_official_field():
    data = snapshot_to_dict(snapshot())

    assert data == {
        "values": {"messages": [HumanMessage(content="hi", id="m1").model_dump()]},
        "next": [],
        "tasks": [],
        "metadata": {"source": "loop", "step": 1, "parents": {}},
        "created_at": "2026-01-01T00:00:00+00:00",
        "checkpoint": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c2"},
        "parent_checkpoint": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c1"},
        "interrupts": [],
        "checkpoint_id": "c2",
        "parent_checkpoint_id": "c1",
    }


def test_snapshot_to_dict_serializes_tasks_and_interrupts():
    task = interrupted_task()

    data = snapshot_to_dict(snapshot(tasks=(task,), next_=("ask",), interrupts=task.interrupts))

    assert data["next"] == ["ask"]
    assert data["tasks"] == [
        {
            "id": "task-1",
            "name": "ask",
            "path": ["__pregel_pull", "ask"],
            "error": None,
            "interrupts": [{"id": "i-1", "value": {"q": 1}}],
            "checkpoint": None,
            "state": None,
            "result": None,
        }
    ]
    assert data["interrupts"] == [{"id": "i-1", "value": {"q": 1}}]


def test_subgraph_task_carries_checkpoint_or_nested_state():
    sub_config = {"configurable": {"thread_id": "t1", "checkpoint_ns": "child:x"}}
    flat = PregelTask("task-2", "child", ("__pregel_pull", "child"), state=sub_config)
    nested = PregelTask("task-2", "child", ("__pregel_pull", "child"), state=snapshot())

    flat_task = snapshot_to_dict(snapshot(tasks=(flat,)))["tasks"][0]
    nested_task = snapshot_to_dict(snapshot(tasks=(nested,)))["tasks"][0]

    assert flat_task["checkpoint"] == {"thread_id": "t1", "checkpoint_ns": "child:x"}
    assert flat_task["state"] is None
    assert nested_task["checkpoint"] is None
    assert nested_task["state"]["checkpoint_id"] == "c2"


def test_empty_root_namespace_is_dropped_from_metadata():
    data = snapshot_to_dict(snapshot(metadata={"source": "update", "checkpoint_ns": ""}))

    assert data["metadata"] == {"source": "update"}


def test_empty_thread_state_matches_official_shape():
    assert empty_thread_state()["values"] == {}
    assert empty_thread_state()["checkpoint"] is None
    assert empty_thread_state()["next"] == []


def test_config_to_checkpoint_needs_thread_and_checkpoint_ids():
    assert config_to_checkpoint(None) is None
    assert config_to_checkpoint({"configurable": {"thread_id": "t"}}) is None
    assert config_to_checkpoint({"configurable": {"thread_id": "t", "checkpoint_id": "c", "checkpoint_map": {}}}) == {
        "thread_id": "t",
        "checkpoint_id": "c",
        "checkpoint_map": {},
    }


def test_interrupts_by_task_keys_only_interrupted_tasks():
    quiet = PregelTask("task-0", "other", ("__pregel_pull", "other"))

    assert interrupts_by_task(snapshot(tasks=(quiet, interrupted_task()))) == {
        "task-1": [{"id": "i-1", "value": {"q": 1}}]
    }
    assert interrupts_by_task(None) == {}


def test_status_from_snapshot_follows_official_rules():
    assert status_from_snapshot(snapshot()) == "idle"
    assert status_from_snapshot(snapshot(next_=("ask",))) == "interrupted"
    assert status_from_snapshot(snapshot(next_=("ask",)), failed=True) == "error"
    assert status_from_snapshot(None) == "idle"


def test_command_from_json_maps_update_goto_and_resume():
    body = {"update": [["a", 1]], "goto": ["n1", {"node": "n2", "input": {"x": 1}}], "resume": "y"}

    command = command_from_json(body)

    assert command == Command(update=[("a", 1)], goto=["n1", Send("n2", {"x": 1})], resume="y")


def test_command_from_json_without_resume_leaves_it_unset():
    assert command_from_json({"update": {"a": 1}}).resume is None
