"""A hung graph (issue 10, item 3): an async node calling time.sleep(30) on a worker whose other runs must not wait
for it, with BG_JOB_TIMEOUT_SECS=10. Officially the other runs finish in about a second and the blocking run ends
in `error`; before the loop watchdog, every other run waited the whole 30 s and the blocker ended `timeout`."""

from __future__ import annotations

import time

import pytest

from tests.reliability.invariants import check, observe, plan_runs, unfinished

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

LOOP_BLOCKED_SECS = 2.0
# The bound on how long the blocker may stall the others: detection, then their resumption on a fresh loop.
STALL_BOUND_SECS = LOOP_BLOCKED_SECS + 4.0


def test_a_graph_blocking_the_loop_ends_in_error_and_the_other_runs_finish_promptly(faults, tmp_path):
    env = {"BG_JOB_TIMEOUT_SECS": "10", "BG_JOB_LOOP_BLOCKED_SECS": str(LOOP_BLOCKED_SECS), "N_JOBS_PER_WORKER": "10"}
    worker = faults.stack.start_worker("worker", extra_env=env)
    client = faults.client
    blocker_thread = client.threads.create()["thread_id"]
    blocker = client.runs.create(blocker_thread, "blocking", input={"seconds": 30})
    while faults.worker_of(blocker["run_id"]) is None:
        time.sleep(0.05)
    time.sleep(0.3)  # the node is sleeping now
    started = time.monotonic()
    log = tmp_path / "steps.jsonl"
    others = plan_runs(client, threads=5, runs_per_thread=1, log=log, steps=1, seconds=0.1)
    run_ids = [run.run_id for run in others]
    while unfinished(faults.stack, run_ids) and time.monotonic() - started < 40:
        time.sleep(0.1)
    others_done_in = time.monotonic() - started
    blocked = client.runs.join(blocker_thread, blocker["run_id"])
    blocker_ended_in = time.monotonic() - started
    report = check(observe(faults.stack, client, faults.redis_client(), others, log))
    final = client.runs.get(blocker_thread, blocker["run_id"])
    print(
        f"hung graph: 5 other runs done {others_done_in:.1f}s after the block began, blocker ended "
        f"`{final['status']}` after {blocker_ended_in:.1f}s; {report.figures}"
    )
    assert others_done_in < STALL_BOUND_SECS, "the other runs waited for the blocked loop"
    report.assert_ok()
    assert final["status"] == "error"
    assert blocked["__error__"]["error"] == "BlockingError"
    assert "Node 'block' blocked the event loop" in blocked["__error__"]["message"]
    assert blocker_ended_in < STALL_BOUND_SECS
    # The same worker process keeps serving, on its fresh loop.
    again = client.runs.wait(client.threads.create()["thread_id"], "echo", input={"value": "after"})
    assert again["value"] == "after" and worker.poll() is None
