"""A zombie worker (issue 10, item 2): SIGSTOP a worker mid-run for longer than its lease, let another worker take
the run over and finish it, then SIGCONT the first. The paused attempt wakes up in the middle of a step and must
write nothing after the takeover: no checkpoint, no checkpoint write, no stream event, no status."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.invariants import check, observe, plan_runs, read_step_log
from tests.stack import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def snapshot(faults, run_id: str, thread_id: str) -> dict:
    """Everything an attempt of the run can write: checkpoints, checkpoint writes, the run and thread rows, the
    stream log."""
    sql = faults.stack.sql
    return {
        "checkpoints": sql("SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s ORDER BY 1", (thread_id,)),
        "writes": sql(
            "SELECT checkpoint_id, task_id, idx FROM checkpoint_writes WHERE thread_id = %s ORDER BY 1, 2, 3",
            (thread_id,),
        ),
        "run": sql("SELECT status, attempt, output, updated_at, ended_at FROM runs_run WHERE run_id = %s", (run_id,)),
        "thread": sql("SELECT status, values, updated_at FROM threads_thread WHERE thread_id = %s", (thread_id,)),
        "stream": faults.redis_client().xrange(f"agentplatform:run:{run_id}:events"),
    }


def _noticed(log: Path, since: int, timeout: float) -> bool:
    """Whether the zombie's log says, past offset `since`, that it stopped its attempt (its stream appends
    superseded, or its lease lost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_bytes()[since:].decode(errors="replace")
        if "superseded" in text or "lease lost" in text:
            return True
        time.sleep(0.05)
    return False


def test_a_worker_paused_past_its_lease_writes_nothing_after_another_took_its_run_over(faults, tmp_path):
    faults.start_workers("worker-a", "worker-b")
    client, log = faults.client, tmp_path / "steps.jsonl"
    # Paused after ten steps: the other thirty only have to outlast the pause's start.
    (run,) = plan_runs(client, threads=1, runs_per_thread=1, log=log, steps=40, seconds=0.02)
    victim = wait_for(lambda: faults.worker_of(run.run_id), what="run claimed")
    wait_for(lambda: len(read_step_log(log)) >= 10, what="ten steps done")
    zombie = faults.stack.processes[victim]
    os.kill(zombie.pid, signal.SIGSTOP)
    paused_at = time.monotonic()
    try:
        wait_for(lambda: faults.worker_of(run.run_id) not in (None, victim), what="takeover by the other worker")
        taken_over_in = time.monotonic() - paused_at
        wait_for(lambda: client.runs.get(run.thread_id, run.run_id)["status"] == "success", what="run finished")
        before = snapshot(faults, run.run_id, run.thread_id)
    finally:
        zombie_log = faults.stack.log_dir / f"{victim}.log"
        logged_before = zombie_log.stat().st_size
        os.kill(zombie.pid, signal.SIGCONT)
        resumed_at = time.time()
    # The zombie finishes its step, tries to write, notices its lost lease (its next lease check, within a second):
    # then a moment for anything still in flight, instead of 3 s whether it noticed or not.
    fenced = _noticed(zombie_log, logged_before, timeout=3)
    time.sleep(0.5)
    after = snapshot(faults, run.run_id, run.thread_id)
    zombie_lines = [line for line in read_step_log(log) if line["pid"] == zombie.pid and line["end"] > resumed_at]
    changed = [key for key in before if before[key] != after[key]]
    report = check(observe(faults.stack, client, faults.redis_client(), [run], log))
    print(
        f"sigstop: paused {victim} mid-step, run taken over after {taken_over_in:.1f}s and finished; after SIGCONT "
        f"the zombie finished {len(zombie_lines)} step(s) and changed {changed or 'nothing'} (it noticed: {fenced}); "
        f"{report.figures}"
    )
    assert not changed, f"the stale attempt wrote after the takeover: {changed}"
    report.assert_ok()
    # The zombie recovers: alone, it still serves runs.
    faults.stack.stop("worker-b" if victim == "worker-a" else "worker-a", signal.SIGKILL)  # no warm shutdown wait
    again = client.runs.wait(client.threads.create()["thread_id"], "echo", input={"value": "after"})
    assert again["value"] == "after" and zombie.poll() is None
