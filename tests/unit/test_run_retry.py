"""The body that retries a run asks run creation for the same run: same assistant, input, config and options."""

from __future__ import annotations

import uuid

from runs.models import Run
from runs.payload import parse_run_payload
from runs.retry import retry_payload


def stored_run(**kwargs) -> Run:
    run_id, assistant_id = uuid.uuid4(), uuid.uuid4()
    configurable = {"run_id": str(run_id), "thread_id": "t", "graph_id": "echo", "assistant_id": str(assistant_id)}
    base = {
        "input": {"value": "x"},
        "command": None,
        "config": {"tags": ["a"], "configurable": {**configurable, "user": "ann"}, "metadata": {"m": 1}},
        "context": {"user": "ann"},
        "stream_mode": ["values", "updates"],
        "interrupt_before": ["node"],
        "interrupt_after": None,
        "durability": "sync",
    }
    return Run(
        run_id=run_id,
        assistant_id=assistant_id,
        kwargs={**base, **kwargs},
        metadata={"m": 1},
        multitask_strategy="enqueue",
    )


def test_the_retry_body_parses_to_the_same_request():
    run = stored_run()
    request = parse_run_payload(retry_payload(run), stateless=False)
    assert request.assistant_ref == str(run.assistant_id)
    assert request.input == {"value": "x"}
    assert request.config["configurable"] == {"user": "ann"}  # the old run's ids are not carried over
    assert request.context == {"user": "ann"}
    assert request.config["tags"] == ["a"]
    assert [str(mode) for mode in request.stream_mode] == ["values", "updates"]
    assert (request.interrupt_before, request.multitask_strategy) == (["node"], "enqueue")


def test_a_run_forked_from_a_checkpoint_is_retried_from_it():
    run = stored_run(config={"configurable": {"checkpoint_id": "1ef-abc", "checkpoint_ns": ""}})
    request = parse_run_payload(retry_payload(run), stateless=False)
    assert request.checkpoint == {"checkpoint_id": "1ef-abc", "checkpoint_ns": ""}


def test_a_resume_command_is_retried():
    run = stored_run(input=None, command={"resume": "yes"})
    assert parse_run_payload(retry_payload(run), stateless=False).command == {"resume": "yes"}
