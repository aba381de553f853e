"""The runs API through langgraph_sdk against a real Daphne + Celery stack (api-surface §1.3, §2.3-§2.12)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

pytestmark = pytest.mark.integration

TERMINAL = ("success", "error", "timeout", "interrupted")


def wait_status(client, thread_id, run_id, statuses=TERMINAL, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.runs.get(thread_id, run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def wait_until(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def test_wait_returns_final_values_and_thread_goes_idle(client):
    thread = client.threads.create()
    result = client.runs.wait(thread["thread_id"], "echo", input={"value": "hi"})
    assert result["value"] == "hi"
    assert result["messages"][-1]["content"] == "echo: hi"
    state = client.threads.get(thread["thread_id"])
    assert state["status"] == "idle"
    assert state["values"]["count"] == 1
    assert state["metadata"]["graph_id"] == "echo"


def test_background_run_is_pending_then_success_and_join_returns_values(client, stack):
    thread = client.threads.create()
    response = httpx.post(
        f"{stack.url}/threads/{thread['thread_id']}/runs", json={"assistant_id": "echo", "input": {"value": "bg"}}
    )
    run = response.json()
    assert response.headers["content-location"] == f"/threads/{thread['thread_id']}/runs/{run['run_id']}"
    assert run["status"] == "pending"
    joined = client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["value"] == "bg"
    assert client.runs.get(thread["thread_id"], run["run_id"])["status"] == "success"


def test_wait_headers_point_to_join(client, stack):
    thread = client.threads.create()
    response = httpx.post(
        f"{stack.url}/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": "echo", "input": {}}, timeout=60
    )
    run_path = response.headers["content-location"]
    assert run_path.startswith(f"/threads/{thread['thread_id']}/runs/")
    assert response.headers["location"] == f"{run_path}/join"


def test_failing_graph_gives_error_body_run_error_and_thread_error(client):
    thread = client.threads.create()
    result = client.runs.wait(thread["thread_id"], "fail", input={}, raise_error=False)
    assert result == {"__error__": {"error": "ValueError", "message": "kaboom"}}
    runs = client.runs.list(thread["thread_id"])
    assert runs[0]["status"] == "error"
    state = client.threads.get(thread["thread_id"])
    assert state["status"] == "error"
    assert state["error"] == {"error": "ValueError", "message": "kaboom"}


def test_interrupt_and_resume_round_trip(client):
    thread = client.threads.create()
    first = client.runs.wait(thread["thread_id"], "interrupt", input={"request": "deploy"})
    assert first["__interrupt__"][0]["value"] == {"question": "approve deploy?"}
    assert client.runs.list(thread["thread_id"])[0]["status"] == "success"
    paused = client.threads.get(thread["thread_id"])
    assert paused["status"] == "interrupted"
    assert len(paused["interrupts"]) == 1
    second = client.runs.wait(thread["thread_id"], "interrupt", command={"resume": "yes"})
    assert second["approved"] == "yes"
    assert second["steps"] == ["ask", "finish"]
    done = client.threads.get(thread["thread_id"])
    assert done["status"] == "idle"
    assert done["interrupts"] == {}


def test_interrupt_before_pauses_then_none_input_continues(client):
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "echo", input={"value": "a"}, interrupt_before=["echo"])
    paused = client.threads.get_state(thread["thread_id"])
    assert paused["next"] == ["echo"]
    assert client.threads.get(thread["thread_id"])["status"] == "interrupted"
    result = client.runs.wait(thread["thread_id"], "echo", input=None)
    assert result["count"] == 1
    assert client.threads.get(thread["thread_id"])["status"] == "idle"


def test_interrupt_after_last_node_leaves_thread_idle(client):
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "echo", input={"value": "a"}, interrupt_after="*")
    assert client.threads.get(thread["thread_id"])["status"] == "idle"


def test_reject_returns_409_while_a_run_is_in_flight(client):
    thread = client.threads.create()
    run = client.runs.create(thread["thread_id"], "sleepy", input={"seconds": 1, "steps": 1})
    with pytest.raises(ConflictError):
        client.runs.create(thread["thread_id"], "echo", input={}, multitask_strategy="reject")
    assert client.threads.get(thread["thread_id"])["status"] == "busy"
    client.runs.join(thread["thread_id"], run["run_id"])


def test_enqueued_runs_run_in_order_and_see_previous_state(client):
    thread = client.threads.create()
    runs = [
        client.runs.create(thread["thread_id"], "echo", input={"messages": [{"role": "human", "content": str(i)}]})
        for i in range(3)
    ]
    last = client.runs.join(thread["thread_id"], runs[-1]["run_id"])
    assert last["count"] == 3
    assert [m["content"] for m in last["messages"]] == ["0", "echo: 0", "1", "echo: 1", "2", "echo: 2"]
    listed = client.runs.list(thread["thread_id"])
    assert [r["run_id"] for r in listed] == [r["run_id"] for r in reversed(runs)]


def test_interrupt_strategy_interrupts_the_running_run(client):
    thread = client.threads.create()
    first = client.runs.create(thread["thread_id"], "sleepy", input={"seconds": 0.5, "steps": 20})
    wait_status(client, thread["thread_id"], first["run_id"], ("running",))
    second = client.runs.create(thread["thread_id"], "echo", input={"value": "new"}, multitask_strategy="interrupt")
    client.runs.join(thread["thread_id"], second["run_id"])
    assert client.runs.get(thread["thread_id"], first["run_id"])["status"] == "interrupted"
    assert client.runs.get(thread["thread_id"], second["run_id"])["status"] == "success"


def test_rollback_strategy_deletes_the_running_run_and_its_checkpoints(client):
    thread = client.threads.create()
    first = client.runs.create(thread["thread_id"], "sleepy", input={"seconds": 0.5, "steps": 20})
    wait_status(client, thread["thread_id"], first["run_id"], ("running",))
    second = client.runs.create(thread["thread_id"], "echo", input={"value": "new"}, multitask_strategy="rollback")
    result = client.runs.join(thread["thread_id"], second["run_id"])
    with pytest.raises(NotFoundError):
        client.runs.get(thread["thread_id"], first["run_id"])
    assert "done" not in result  # the sleepy run's state is gone
    history = client.threads.get_history(thread["thread_id"], limit=100)
    assert all(h["metadata"].get("run_id") != first["run_id"] for h in history)


def test_cancel_running_run_interrupts_it_and_second_cancel_is_404(client):
    thread = client.threads.create()
    run = client.runs.create(thread["thread_id"], "sleepy", input={"seconds": 0.5, "steps": 20})
    wait_until(lambda: client.threads.get_state(thread["thread_id"])["next"])  # it has checkpointed a step
    client.runs.cancel(thread["thread_id"], run["run_id"])
    ended = wait_status(client, thread["thread_id"], run["run_id"])
    assert ended["status"] == "interrupted"
    client.runs.join(thread["thread_id"], run["run_id"])  # shown interrupted at once; the thread settles once stopped
    assert client.threads.get(thread["thread_id"])["status"] == "interrupted"
    with pytest.raises(NotFoundError):
        client.runs.cancel(thread["thread_id"], run["run_id"])


def test_cancel_with_wait_returns_the_result(client):
    thread = client.threads.create()
    run = client.runs.create(thread["thread_id"], "sleepy", input={"seconds": 0.5, "steps": 20})
    wait_status(client, thread["thread_id"], run["run_id"], ("running",))
    result = client.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert isinstance(result, dict)
    assert client.runs.get(thread["thread_id"], run["run_id"])["status"] == "interrupted"


def test_bulk_cancel_pending_runs_of_a_thread(client):
    thread = client.threads.create()
    runs = [client.runs.create(thread["thread_id"], "echo", input={}, after_seconds=60) for _ in range(2)]
    client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[r["run_id"] for r in runs])
    assert {client.runs.get(thread["thread_id"], r["run_id"])["status"] for r in runs} == {"interrupted"}
    assert client.threads.get(thread["thread_id"])["status"] == "idle"


def test_bulk_cancel_rejects_status_with_ids(client, stack):
    response = httpx.post(f"{stack.url}/runs/cancel", json={"status": "pending", "thread_id": "x"})
    assert response.status_code == 422


def test_after_seconds_keeps_run_pending_then_runs_it(client):
    thread = client.threads.create()
    run = client.runs.create(thread["thread_id"], "echo", input={"value": "later"}, after_seconds=2)
    assert client.runs.get(thread["thread_id"], run["run_id"])["status"] == "pending"
    assert client.runs.join(thread["thread_id"], run["run_id"])["value"] == "later"


def test_stateless_wait_deletes_its_thread_unless_kept(client, stack):
    response = httpx.post(f"{stack.url}/runs/wait", json={"assistant_id": "echo", "input": {"value": "s"}}, timeout=60)
    assert response.json()["value"] == "s"
    thread_id = response.headers["location"].split("/")[2]
    with pytest.raises(NotFoundError):
        client.threads.get(thread_id)
    kept = httpx.post(
        f"{stack.url}/runs/wait",
        json={"assistant_id": "echo", "input": {"value": "k"}, "on_completion": "keep"},
        timeout=60,
    )
    kept_thread = kept.headers["location"].split("/")[2]
    assert client.threads.get(kept_thread)["values"]["value"] == "k"


def test_stateless_background_run_and_batch(client, stack):
    response = httpx.post(f"{stack.url}/runs", json={"assistant_id": "echo", "input": {}})
    assert response.headers["content-location"] == f"/runs/{response.json()['run_id']}"
    batch = client.runs.create_batch([{"assistant_id": "echo", "input": {"value": str(i)}} for i in range(3)])
    assert len(batch) == 3
    assert all(run["status"] == "pending" for run in batch)
    assert len({run["thread_id"] for run in batch}) == 3


def test_if_not_exists_create_makes_the_thread(client):
    thread_id = "0193a0f0-0000-7000-8000-00000000abcd"
    result = client.runs.wait(thread_id, "echo", input={"value": "new"}, if_not_exists="create")
    assert result["value"] == "new"
    assert client.threads.get(thread_id)["metadata"]["graph_id"] == "echo"


def test_missing_thread_is_404_and_bad_stream_mode_422(client):
    with pytest.raises(NotFoundError):
        client.runs.create("0193a0f0-0000-7000-8000-00000000ffff", "echo", input={})
    thread = client.threads.create()
    with pytest.raises(UnprocessableEntityError):
        client.runs.create(thread["thread_id"], "echo", input={}, stream_mode="bogus")


def test_fork_from_an_earlier_checkpoint(client):
    thread = client.threads.create()
    for text in ("one", "two"):
        client.runs.wait(thread["thread_id"], "echo", input={"messages": [{"role": "human", "content": text}]})
    history = client.threads.get_history(thread["thread_id"], limit=100)
    first_done = next(h for h in history if h["values"].get("count") == 1 and not h["next"])
    forked = client.runs.wait(
        thread["thread_id"],
        "echo",
        input={"messages": [{"role": "human", "content": "fork"}]},
        checkpoint_id=first_done["checkpoint"]["checkpoint_id"],
    )
    assert forked["count"] == 2
    assert [m["content"] for m in forked["messages"]] == ["one", "echo: one", "fork", "echo: fork"]


def test_delete_run_removes_it(client):
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "echo", input={})
    run = client.runs.list(thread["thread_id"])[0]
    client.runs.delete(thread["thread_id"], run["run_id"])
    with pytest.raises(NotFoundError):
        client.runs.get(thread["thread_id"], run["run_id"])


def test_list_runs_filters_by_status_and_selects_fields(client):
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "echo", input={})
    client.runs.wait(thread["thread_id"], "fail", input={}, raise_error=False)
    errors = client.runs.list(thread["thread_id"], status="error", select=["run_id", "status"])
    assert [set(r) for r in errors] == [{"run_id", "status"}]
    assert errors[0]["status"] == "error"


def test_join_unknown_run_returns_error_body(client):
    thread = client.threads.create()
    result = client.runs.join(thread["thread_id"], "0193a0f0-0000-7000-8000-000000000001")
    assert result["__error__"]["message"] == "404: Run not found"


def test_run_past_bg_job_timeout_ends_as_timeout(client, stack):
    # Only a worker with a one-second run timeout may claim this run.
    stack.stop("worker")
    stack.start_worker("worker-timeout", extra_env={"BG_JOB_TIMEOUT_SECS": "1"})
    try:
        thread = client.threads.create()
        result = client.runs.wait(thread["thread_id"], "sleepy", input={"seconds": 5, "steps": 1}, raise_error=False)
        run = client.runs.list(thread["thread_id"])[0]
    finally:
        stack.stop("worker-timeout")
        stack.start_worker("worker")
    assert run["status"] == "timeout"
    assert result["__error__"]["error"] == "TimeoutError"
    assert client.threads.get(thread["thread_id"])["status"] == "error"


def test_wait_with_on_disconnect_cancel_interrupts_the_run_when_the_client_leaves(client, stack):
    thread = client.threads.create()
    body = {"assistant_id": "sleepy", "input": {"seconds": 0.5, "steps": 40}, "on_disconnect": "cancel"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{stack.url}/threads/{thread['thread_id']}/runs/wait", json=body, timeout=1.5)
    run = client.runs.list(thread["thread_id"])[0]
    assert wait_status(client, thread["thread_id"], run["run_id"])["status"] == "interrupted"


def test_factory_graph_gets_the_runs_configurable_or_context(client):
    thread = client.threads.create()
    by_config = client.runs.wait(thread["thread_id"], "factory", input={}, config={"configurable": {"greeting": "a"}})
    by_context = client.runs.wait(thread["thread_id"], "factory", input={}, context={"greeting": "b"})
    assert (by_config["value"], by_context["value"]) == ("a", "b")


def test_long_wait_sends_newline_keepalives_before_the_json_body(client, stack):
    thread = client.threads.create()
    body = {"assistant_id": "sleepy", "input": {"seconds": 5.5, "steps": 1}}
    response = httpx.post(f"{stack.url}/threads/{thread['thread_id']}/runs/wait", json=body, timeout=60)
    assert response.content.startswith(b"\n")
    assert response.json()["done"] == ["slept"]


def test_concurrent_reject_creates_let_exactly_one_run_in(client):
    thread = client.threads.create()

    def create(_):
        try:
            return client.runs.create(
                thread["thread_id"], "sleepy", input={"seconds": 1, "steps": 1}, multitask_strategy="reject"
            )
        except ConflictError:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    accepted = [r for r in results if r is not None]
    assert len(accepted) == 1
    client.runs.join(thread["thread_id"], accepted[0]["run_id"])
