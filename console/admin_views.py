"""What the thread page shows beyond the model's fields, and the runs and state updates it starts.

The conversation comes from the thread's values, the checkpoint history from LangGraph's checkpointer (through
threads.selectors, paged with `before` as the API pages it); resuming an interrupt and forking from a checkpoint
create runs with runs.services.run_create, updating the state goes through threads.services.thread_state_update.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from agentplatform.admin_kit import json_from_form, json_text
from agentplatform.errors import ApplicationError, NotFound
from console.chat import chat_turns
from runs.models import Run
from runs.services import run_create
from threads.models import Thread
from threads.selectors import thread_graph, thread_graph_config, thread_history_list
from threads.services import thread_state_update

HISTORY_PAGE = 10
OPERATIONS = ("resume", "fork", "state")


def _assistant_ref(thread: Thread) -> str:
    """The assistant the thread's last run used (run creation records it), or its graph's system assistant."""
    metadata = thread.metadata or {}
    ref = metadata.get("assistant_id") or metadata.get("graph_id")
    if not isinstance(ref, str) or not ref:
        raise ApplicationError("This thread has no assistant yet: create a run on it through the API first.")
    return ref


def _history_page(thread: Thread, request: HttpRequest) -> dict[str, Any]:
    """One page of checkpoints, newest first; `trail` holds the `before` cursors of the pages before it."""
    before = request.GET.get("before") or None
    trail = [cursor for cursor in (request.GET.get("trail") or "").split(",") if cursor] if before else []
    try:
        states = thread_history_list(thread=thread, limit=HISTORY_PAGE + 1, before=before)
    except ApplicationError as exc:
        return {"error": exc.detail, "states": [], "number": 1}
    page = states[:HISTORY_PAGE]
    older = None
    if len(states) > HISTORY_PAGE and page[-1].get("checkpoint_id"):
        older = {"before": page[-1]["checkpoint_id"], "trail": ",".join([*trail, before or "-"])}
    newer = None
    if before:
        previous = trail[-1] if trail else "-"
        newer = {"before": "" if previous == "-" else previous, "trail": ",".join(trail[:-1])}
    for state in page:
        state["values_json"] = json_text(state.get("values"))
    return {"states": page, "older": older, "newer": newer, "number": len(trail) + 1 if before else 1}


def _graph_nodes(thread: Thread) -> list[str]:
    """The nodes a state update may act as (empty when the thread has no graph this server serves)."""
    with thread_graph(thread, thread_graph_config(thread)) as graph:
        return [] if graph is None else [name for name in graph.nodes if name != "__start__"]


def thread_page_context(thread: Thread, request: HttpRequest, *, may_operate: bool) -> dict[str, Any]:
    interrupts = [item for items in (thread.interrupts or {}).values() for item in items]
    return {
        "chat": chat_turns(thread.values),
        "history": _history_page(thread, request),
        "graph_nodes": _graph_nodes(thread) if may_operate else [],
        "pending_interrupts": [{**item, "value_json": json_text(item.get("value"))} for item in interrupts],
        "may_operate": may_operate,
        "runs_url": f"{reverse('admin:runs_run_changelist')}?thread_id={thread.thread_id}",
        "operation_urls": {name: reverse(f"admin:threads_thread_{name}", args=[thread.pk]) for name in OPERATIONS},
    }


def thread_resume(thread: Thread, *, resume_text: str) -> Run:
    """Answer the pending interrupt: a run with `Command(resume=...)`, as a client would start it."""
    resume = json_from_form(resume_text, what="The resume value")
    payload = {"assistant_id": _assistant_ref(thread), "command": {"resume": resume}}
    return run_create(thread_id=thread.thread_id, payload=payload)


def _checkpoint(form: dict) -> dict[str, str]:
    checkpoint_id = (form.get("checkpoint_id") or "").strip()
    if not checkpoint_id:
        raise NotFound("No checkpoint was chosen.")
    return {"checkpoint_id": checkpoint_id, "checkpoint_ns": form.get("checkpoint_ns") or ""}


def thread_fork(thread: Thread, form: dict) -> Run:
    """A run from an earlier checkpoint (with new input, or none to run that checkpoint's next tasks)."""
    payload = {
        "assistant_id": _assistant_ref(thread),
        "checkpoint": _checkpoint(form),
        "input": json_from_form(form.get("input"), what="The input"),
    }
    return run_create(thread_id=thread.thread_id, payload=payload)


def thread_update_state(thread: Thread, form: dict) -> dict[str, Any]:
    """A new checkpoint after `checkpoint` with `values` written as if node `as_node` ran."""
    values = json_from_form(form.get("values"), what="The values", blank={})
    return thread_state_update(
        thread_id=thread.thread_id,
        values=values,
        as_node=form.get("as_node") or None,
        checkpoint=_checkpoint(form),
    )
