"""The executor on the worker loop with the real checkpointer and Redis: how each kind of ending is reported."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from agentplatform import stream_log
from agentplatform.persistence import close_async_checkpointer, sync_checkpointer
from agentplatform.redis_clients import sync_redis
from runs.engine import executor, worker_loop
from runs.engine.executor import RunControl, RunSpec
from store.backend import close_async_store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def close_pools():
    yield
    # The loop's checkpointer pool holds connections to the test database, which is dropped after the session.
    worker_loop.run(close_async_checkpointer(), timeout=10)
    worker_loop.run(close_async_store(), timeout=10)


def spec(graph_id: str, run_input, **kwargs) -> RunSpec:
    run_id, thread_id = uuid.uuid4(), uuid.uuid4()
    configurable = {"graph_id": graph_id, "run_id": str(run_id), "thread_id": str(thread_id)}
    run_kwargs = {"input": run_input, "config": {"configurable": configurable}, "stream_mode": ["values"], **kwargs}
    return RunSpec(run_id, thread_id, uuid.uuid4(), 1, run_kwargs)


def execute(run: RunSpec, control: RunControl | None = None):
    return worker_loop.run(executor.execute(run, control or RunControl()), timeout=60)


def logged_events(run: RunSpec) -> list[tuple[str, object]]:
    rows = sync_redis().xrange(stream_log.run_stream_key(run.run_id))
    return [(e, json.loads(d)) for _, e, d in stream_log.decode_entries(rows)]


def test_success_publishes_metadata_first_then_values_and_reports_state():
    run = spec("echo", {"value": "x"})
    outcome = execute(run)
    assert outcome.status == "success"
    assert outcome.result["value"] == "x"
    assert outcome.values["count"] == 1
    assert not outcome.has_next
    events = logged_events(run)
    assert events[0] == ("metadata", {"run_id": str(run.run_id), "attempt": 1})
    assert events[-1][0] == "values"


def test_graph_error_is_reported_and_published():
    run = spec("fail", {})
    outcome = execute(run)
    assert outcome.status == "error"
    assert outcome.error == {"error": "ValueError", "message": "kaboom"}
    assert outcome.result == {"__error__": outcome.error}
    assert ("error", outcome.error) in logged_events(run)


def test_run_past_the_timeout_ends_as_timeout(settings):
    settings.BG_JOB_TIMEOUT_SECS = 0.3
    outcome = execute(spec("sleepy", {"seconds": 5, "steps": 1}))
    assert outcome.status == "timeout"
    assert outcome.error["error"] == "TimeoutError"


def test_interrupt_cancel_stops_the_graph_and_keeps_its_checkpoints():
    run = spec("sleepy", {"seconds": 0.2, "steps": 50})
    control = RunControl()
    threading.Timer(0.7, control.cancel, args=("interrupt",)).start()
    outcome = execute(run, control)
    assert outcome.status == "interrupted"
    assert outcome.has_next  # the thread is left interrupted, as on the official server
    assert 1 <= len(outcome.values["done"]) < 50


def test_lost_lease_reports_without_reading_state():
    control = RunControl()
    control.cancel("lease_lost")
    outcome = execute(spec("sleepy", {"seconds": 1, "steps": 1}), control)
    assert outcome.status == "lease_lost"
    assert not outcome.state_read


def test_interrupt_in_graph_ends_success_with_interrupts_in_result():
    outcome = execute(spec("interrupt", {"request": "r"}))
    assert outcome.status == "success"
    assert outcome.result["__interrupt__"][0]["value"] == {"question": "approve r?"}
    assert outcome.has_next
    assert len(outcome.interrupts) == 1


def test_command_resume_continues_the_same_thread():
    first = spec("interrupt", {"request": "r"})
    execute(first)
    configurable = {**first.kwargs["config"]["configurable"], "run_id": str(uuid.uuid4())}
    second = RunSpec(
        uuid.UUID(configurable["run_id"]),
        first.thread_id,
        first.assistant_id,
        1,
        {"command": {"resume": "ok"}, "config": {"configurable": configurable}, "stream_mode": ["values"]},
    )
    outcome = execute(second)
    assert outcome.result["approved"] == "ok"
    assert not outcome.has_next


def test_retried_attempt_with_the_same_run_id_resumes_instead_of_restarting():
    run = spec("sleepy", {"seconds": 0.2, "steps": 8}, durability="sync")
    control = RunControl()
    threading.Timer(0.5, control.cancel, args=("shutdown",)).start()
    assert execute(run, control).status == "release"
    retry = RunSpec(run.run_id, run.thread_id, run.assistant_id, 2, {**run.kwargs, "input": {"steps": 1}})
    outcome = execute(retry)
    # The new input is not applied: the attempt continues the same run from its last checkpoint.
    assert outcome.status == "success"
    assert outcome.values["steps"] == 8
    assert len(outcome.values["done"]) == 8
    assert [e for e, _ in logged_events(retry)].count("metadata") == 2


def test_retried_fork_continues_its_own_branch_instead_of_forking_again():
    base = spec("sleepy", {"seconds": 0, "steps": 2})
    execute(base)
    saver = sync_checkpointer()
    fork_point = next(saver.list({"configurable": {"thread_id": str(base.thread_id)}}, limit=1)).config
    fork_id = fork_point["configurable"]["checkpoint_id"]
    run_id = uuid.uuid4()
    configurable = {
        **base.kwargs["config"]["configurable"],
        "run_id": str(run_id),
        "checkpoint_id": fork_id,
        "checkpoint_ns": "",
    }
    kwargs = {**base.kwargs, "input": {"seconds": 0.2, "steps": 8}, "durability": "sync"}
    kwargs["config"] = {"configurable": configurable}
    fork = RunSpec(run_id, base.thread_id, base.assistant_id, 1, kwargs)
    control = RunControl()
    threading.Timer(0.5, control.cancel, args=("shutdown",)).start()
    assert execute(fork, control).status == "release"
    outcome = execute(RunSpec(run_id, base.thread_id, base.assistant_id, 2, kwargs))
    assert outcome.status == "success"
    assert len(outcome.values["done"]) == 8
    own = list(saver.list({"configurable": {"thread_id": str(base.thread_id)}}, filter={"run_id": str(run_id)}))
    children_of_fork_point = [
        c for c in own if (c.parent_config or {}).get("configurable", {}).get("checkpoint_id") == fork_id
    ]
    assert len(children_of_fork_point) == 1, "the retry must not start a second branch at the fork point"
