"""LangGraph's StateSnapshot as the official ThreadState JSON, and the thread-row fields derived from it.

The run engine reuses these to write a thread's `values`/`interrupts` after a run, so the shapes stay identical
whether a thread was refreshed by a run or by `POST /threads/{id}/state`.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command, Send, StateSnapshot

from agentplatform.serde import to_jsonable


def jsonb_safe(value: Any) -> Any:
    """Graph state may hold U+0000, which Postgres jsonb refuses: drop it from strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {jsonb_safe(k): jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonb_safe(v) for v in value]
    return value


def empty_thread_state() -> dict[str, Any]:
    """The state of a thread that has no checkpoint (or no graph yet), as the official server answers it."""
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }


def config_to_checkpoint(config: dict | None) -> dict | None:
    """`{"configurable": {...}}` -> `{thread_id, checkpoint_ns, checkpoint_id[, checkpoint_map]}` (None if partial)."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("thread_id") or not configurable.get("checkpoint_id"):
        return None
    checkpoint = {"thread_id": configurable["thread_id"], "checkpoint_id": configurable["checkpoint_id"]}
    if "checkpoint_ns" in configurable:
        checkpoint["checkpoint_ns"] = configurable["checkpoint_ns"] or ""
    if "checkpoint_map" in configurable:
        checkpoint["checkpoint_map"] = configurable["checkpoint_map"]
    return checkpoint


def interrupt_to_dict(interrupt: Any) -> dict[str, Any]:
    """An Interrupt (object or its dict form) as `{"id", "value"[, "response_schema"]}`."""
    if isinstance(interrupt, dict):
        data = {"id": interrupt.get("id"), "value": interrupt.get("value")}
        schema = interrupt.get("response_schema")
    else:
        data = {"id": getattr(interrupt, "id", None), "value": getattr(interrupt, "value", None)}
        schema = getattr(interrupt, "response_schema", None)
    if schema is not None:
        data["response_schema"] = schema
    return data


def _task_to_dict(task: Any) -> dict[str, Any]:
    sub = task.state
    return {
        "id": task.id,
        "name": task.name,
        "path": list(task.path),
        "error": task.error,
        "interrupts": [interrupt_to_dict(i) for i in task.interrupts],
        # A subgraph task carries either its config (subgraphs=false) or its own snapshot (subgraphs=true).
        "checkpoint": sub["configurable"] if sub is not None and not isinstance(sub, StateSnapshot) else None,
        "state": _snapshot_to_raw(sub) if isinstance(sub, StateSnapshot) else None,
        "result": getattr(task, "result", None),
    }


def _snapshot_to_raw(snapshot: StateSnapshot) -> dict[str, Any]:
    metadata = dict(snapshot.metadata) if snapshot.metadata is not None else None
    if metadata is not None and metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    parent = snapshot.parent_config
    return {
        "values": snapshot.values,
        "next": list(snapshot.next),
        "tasks": [_task_to_dict(t) for t in snapshot.tasks],
        "metadata": metadata,
        "created_at": snapshot.created_at,
        "checkpoint": config_to_checkpoint(snapshot.config),
        "parent_checkpoint": config_to_checkpoint(parent),
        "interrupts": [interrupt_to_dict(i) for i in getattr(snapshot, "interrupts", ())],
        # Deprecated by the official server but still returned.
        "checkpoint_id": (snapshot.config or {}).get("configurable", {}).get("checkpoint_id"),
        "parent_checkpoint_id": parent["configurable"].get("checkpoint_id") if parent else None,
    }


def snapshot_to_dict(snapshot: StateSnapshot) -> dict[str, Any]:
    """The official ThreadState JSON of a snapshot (messages and other objects made plain JSON)."""
    return to_jsonable(_snapshot_to_raw(snapshot))


def interrupts_by_task(snapshot: StateSnapshot | None) -> dict[str, list[dict[str, Any]]]:
    """The thread row's `interrupts`: `{task_id: [{"id", "value"}...]}` for the tasks that are interrupted."""
    if snapshot is None:
        return {}
    found = {t.id: [interrupt_to_dict(i) for i in t.interrupts] for t in snapshot.tasks if t.interrupts}
    return to_jsonable(found)


def status_from_snapshot(snapshot: StateSnapshot | None, *, failed: bool = False) -> str:
    """The official base thread status after a run or state update (`busy` is the run engine's overlay)."""
    if failed:
        return "error"
    return "interrupted" if snapshot is not None and snapshot.next else "idle"


def command_from_json(payload: dict[str, Any]) -> Command:
    """A `{"update", "goto", "resume"}` body as a langgraph Command (goto items may be `{"node", "input"}`)."""
    update = payload.get("update")
    if isinstance(update, list):
        update = [tuple(pair) for pair in update]
    goto = payload.get("goto")
    if goto is not None:
        goto = [_goto_item(g) for g in (goto if isinstance(goto, list) else [goto])]
    kwargs: dict[str, Any] = {"update": update, "goto": goto or ()}
    if "resume" in payload:
        kwargs["resume"] = payload["resume"]
    return Command(**kwargs)


def _goto_item(item: Any) -> str | Send:
    if isinstance(item, dict):
        return Send(item["node"], item.get("input"))
    return item
