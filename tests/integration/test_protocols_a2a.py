"""A2A at /a2a/{assistant_id}, with the request shapes an A2A client sends (JSON-RPC 2.0, the 0.x slash methods)
and the answers the official server (langgraph-api 0.16.7) gives: a context is a thread, a task is
`<thread_id>:<run_id>`, states in the 0.x words, errors as JSON-RPC errors with HTTP 200."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
SSE = {"Accept": "text/event-stream"}


@pytest.fixture(scope="module")
def agents(stack) -> dict[str, str]:
    """The system assistants' ids by graph."""
    found = httpx.post(f"{stack.url}/assistants/search", json={"limit": 1000, "metadata": {"created_by": "system"}})
    return {assistant["graph_id"]: assistant["assistant_id"] for assistant in found.json()}


def _rpc(stack, assistant_id: str, method: str, params: dict, headers: dict = JSON) -> dict:
    body = {"jsonrpc": "2.0", "id": "r1", "method": method, "params": params}
    response = httpx.post(f"{stack.url}/a2a/{assistant_id}", json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _message(parts: list, **ids: str) -> dict:
    return {"message": {"role": "user", "parts": parts, "messageId": uuid.uuid4().hex, **ids}}


def _text(text: str) -> dict:
    return {"kind": "text", "text": text}


def _stream(stack, assistant_id: str, params: dict, events: list | None = None) -> list[dict]:
    """The JSON-RPC responses of a message/stream, appended to `events` as they arrive."""
    events = [] if events is None else events
    body = {"jsonrpc": "2.0", "id": "s1", "method": "message/stream", "params": params}
    with httpx.stream("POST", f"{stack.url}/a2a/{assistant_id}", json=body, headers=SSE, timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            assert not line or line == "event: message" or line.startswith("data: "), line
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    return events


def test_message_send_runs_the_assistant_and_answers_the_completed_task(stack, agents):
    answer = _rpc(stack, agents["echo"], "message/send", _message([_text("hello")]))

    assert answer["jsonrpc"] == "2.0" and answer["id"] == "r1"
    task = answer["result"]
    context_id, run_id = task["id"].split(":")
    assert task["kind"] == "task" and task["contextId"] == context_id and uuid.UUID(run_id)
    assert task["status"]["state"] == "completed"
    assert [(m["role"], m["parts"]) for m in task["history"]] == [
        ("user", [_text("hello")]),
        ("agent", [_text("echo: hello")]),
    ]
    assert {m["taskId"] for m in task["history"]} == {task["id"]}
    artifact = task["artifacts"][0]
    assert (artifact["name"], artifact["parts"]) == ("Assistant Response", [_text("echo: hello")])
    # The context is a thread and the task a run on it, for every other API to see.
    run = httpx.get(f"{stack.url}/threads/{context_id}/runs/{run_id}").json()
    assert run["status"] == "success" and run["assistant_id"] == agents["echo"]


def test_a_context_carries_the_conversation_from_task_to_task(stack, agents):
    first = _rpc(stack, agents["echo"], "message/send", _message([_text("one")]))["result"]
    second = _rpc(stack, agents["echo"], "message/send", _message([_text("two")], contextId=first["contextId"]))
    second = second["result"]

    assert second["contextId"] == first["contextId"] and second["id"] != first["id"]
    history = [(m["role"], m["parts"][0]["text"], m["taskId"]) for m in second["history"]]
    assert history == [
        ("user", "one", first["id"]),
        ("agent", "echo: one", first["id"]),
        ("user", "two", second["id"]),
        ("agent", "echo: two", second["id"]),
    ]
    # tasks/get shows a task as of its own run; a finished task takes no more messages and cannot be cancelled.
    got = _rpc(stack, agents["echo"], "tasks/get", {"id": first["id"]})["result"]
    assert got["status"]["state"] == "completed" and got["status"]["message"]["parts"] == [
        _text("Task completed successfully")
    ]
    assert [m["parts"][0]["text"] for m in got["history"]] == ["one", "echo: one"]
    assert "history" not in _rpc(stack, agents["echo"], "tasks/get", {"id": first["id"], "historyLength": 0})["result"]
    again = _rpc(
        stack, agents["echo"], "message/send", _message([_text("x")], contextId=first["contextId"], taskId=first["id"])
    )
    assert again["error"] == {"code": -32004, "message": "A terminal task cannot accept another message"}
    cancel = _rpc(stack, agents["echo"], "tasks/cancel", {"id": first["id"]})
    assert cancel["error"] == {"code": -32002, "message": "Task is not cancelable in its current state"}


def test_message_stream_sends_the_task_its_updates_and_the_final_status(stack, agents):
    events = _stream(stack, agents["chat"], _message([_text("hi")]))

    assert all(event["id"] == "s1" and "result" in event for event in events), events
    results = [event["result"] for event in events]
    task = results[0]
    assert task["kind"] == "task" and task["status"]["state"] == "submitted"
    assert task["history"][0]["parts"] == [_text("hi")] and task["history"][0]["taskId"] == task["id"]
    working = [r for r in results[1:-2] if r["kind"] == "status-update"]
    assert working and all(r["status"]["state"] == "working" and not r["final"] for r in working)
    assert working[-1]["status"]["message"]["parts"] == [_text("hello there friend")]  # the model's tokens, joined
    artifact, final = results[-2], results[-1]
    assert artifact["kind"] == "artifact-update" and artifact["artifact"]["parts"] == [_text("hello there friend")]
    assert final["kind"] == "status-update" and final["status"]["state"] == "completed" and final["final"] is True
    assert {r.get("taskId", r.get("id")) for r in results} == {task["id"]}


def test_an_interrupt_asks_for_input_and_a_resume_finishes_the_same_task(stack, agents):
    asked = _rpc(
        stack, agents["interrupt"], "message/send", _message([{"kind": "data", "data": {"request": "deploy"}}])
    )
    task = asked["result"]
    assert task["status"]["state"] == "input-required"
    assert task["artifacts"][0]["name"] == "Interrupt"
    assert task["artifacts"][0]["parts"][0]["data"]["value"] == {"question": "approve deploy?"}
    assert (
        _rpc(stack, agents["interrupt"], "tasks/get", {"id": task["id"]})["result"]["status"]["state"]
        == "input-required"
    )

    resume = _message([{"kind": "data", "data": {"resume": "yes"}}], contextId=task["contextId"], taskId=task["id"])
    done = _rpc(stack, agents["interrupt"], "message/send", resume)["result"]

    assert (done["id"], done["status"]["state"]) == (task["id"], "completed")
    values = httpx.get(f"{stack.url}/threads/{task['contextId']}/state").json()["values"]
    assert values["approved"] == "yes" and values["steps"] == ["ask", "finish"]


def test_tasks_cancel_interrupts_the_running_task(stack, agents):
    events: list = []
    params = _message([{"kind": "data", "data": {"seconds": 0.5, "steps": 20}}])
    streaming = threading.Thread(target=_stream, args=(stack, agents["sleepy"], params, events))
    streaming.start()
    deadline = time.monotonic() + 30
    while not events and time.monotonic() < deadline:
        time.sleep(0.02)
    task_id = events[0]["result"]["id"]
    assert _wait_state(stack, agents["sleepy"], task_id, "working")

    canceled = _rpc(stack, agents["sleepy"], "tasks/cancel", {"id": task_id})["result"]

    assert canceled["id"] == task_id and canceled["status"]["state"] == "canceled"
    assert canceled["status"]["message"]["parts"] == [_text("Task was canceled")]
    assert _rpc(stack, agents["sleepy"], "tasks/get", {"id": task_id})["result"]["status"]["state"] == "canceled"
    streaming.join(timeout=30)
    assert events[-1]["result"]["final"] is True


def _wait_state(stack, assistant_id: str, task_id: str, state: str) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _rpc(stack, assistant_id, "tasks/get", {"id": task_id})["result"]["status"]["state"] == state:
            return True
        time.sleep(0.05)
    return False
