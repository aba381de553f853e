"""Crash and concurrency tests of the run engine (design.md invariants 1-4, reliability.md §7).

The `logged` test graph appends one line per node execution (run, step, pid, start, end) to a file, so the
tests can check from outside that runs of one thread never overlap and that a killed run resumes exactly once.
"""

from __future__ import annotations

import itertools
import json
import signal
import time
from pathlib import Path

import pytest

from tests.stack import wait_for

pytestmark = pytest.mark.integration


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_no_overlap(lines: list[dict]) -> None:
    by_thread: dict[str, list[dict]] = {}
    for line in lines:
        by_thread.setdefault(line["thread_id"], []).append(line)
    for executions in by_thread.values():
        executions.sort(key=lambda line: line["start"])
        for before, after in itertools.pairwise(executions):
            assert before["end"] <= after["start"], f"overlapping executions on one thread: {before} {after}"


def logged_input(log: Path, steps: int, seconds: float) -> dict:
    return {"log": str(log), "steps": steps, "seconds": seconds}


def test_two_workers_never_overlap_runs_of_one_thread_and_keep_fifo(client, stack, tmp_path):
    stack.start_worker("worker-b")
    try:
        log = tmp_path / "exec.jsonl"
        threads = [client.threads.create()["thread_id"] for _ in range(2)]
        created = {
            thread_id: [client.runs.create(thread_id, "logged", input=logged_input(log, 2, 0.05)) for _ in range(6)]
            for thread_id in threads
        }
        for thread_id, runs in created.items():
            client.runs.join(thread_id, runs[-1]["run_id"])
    finally:
        stack.stop("worker-b")
    lines = read_log(log)
    assert_no_overlap(lines)
    for thread_id, runs in created.items():
        statuses = {client.runs.get(thread_id, run["run_id"])["status"] for run in runs}
        assert statuses == {"success"}
        started = [line["run_id"] for line in sorted(lines, key=lambda line: line["start"])]
        first_start = [r for i, r in enumerate(started) if r not in started[:i]]
        order = [run["run_id"] for run in runs]
        assert [r for r in first_start if r in order] == order, "runs of a thread must start in creation order"
        assert client.threads.get_state(thread_id)["values"]["counter"] == 12
    print(f"two workers: {len(lines)} node executions, 12 runs, 0 overlaps")


def _worker_name_of(stack, run_id: str) -> str:
    owner = wait_for(
        lambda: stack.sql("SELECT lease_owner FROM runs_run WHERE run_id = %s AND status = 'running'", (run_id,)),
        what="run claimed",
    )[0][0]
    pid = int(owner.split(":")[1])
    return next(name for name, proc in stack.processes.items() if proc.pid == pid)


def test_sigkill_of_the_worker_mid_run_resumes_it_once_elsewhere(client, stack, tmp_path):
    stack.start_worker("worker-c")
    log = tmp_path / "exec.jsonl"
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "logged", input=logged_input(log, 6, 0.4), durability="sync")
    victim = _worker_name_of(stack, run["run_id"])
    wait_for(lambda: len(read_log(log)) >= 2, what="two steps executed")
    killed_at = time.monotonic()
    stack.stop(victim, signal.SIGKILL)
    try:
        if victim == "worker":
            stack.start_worker("worker-d")  # someone must be left to resume it
        result = client.runs.join(thread_id, run["run_id"])
        recovered_in = time.monotonic() - killed_at
    finally:
        for name in ("worker-c", "worker-d"):
            stack.stop(name)
        if victim == "worker":
            stack.start_worker("worker")
    final = client.runs.get(thread_id, run["run_id"])
    assert final["status"] == "success"
    assert result["counter"] == 6
    attempts = stack.sql("SELECT attempt FROM runs_run WHERE run_id = %s", (run["run_id"],))[0][0]
    assert attempts == 2
    lines = read_log(log)
    steps = sorted(line["step"] for line in lines)
    assert set(steps) == set(range(6)), "every step ran"
    assert len(steps) <= 7, "at most the step in flight at the kill ran twice"
    assert_no_overlap(lines)
    assert client.threads.get(thread_id)["status"] == "idle"
    print(f"sigkill: recovered in {recovered_in:.1f}s, {len(steps) - 6} re-executed step(s), attempts={attempts}")


def test_sigterm_releases_the_run_which_resumes_elsewhere(client, stack, tmp_path):
    stack.start_worker("worker-e", extra_env={"BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": "0.5"})
    log = tmp_path / "exec.jsonl"
    thread_id = client.threads.create()["thread_id"]
    try:
        run = None
        for _ in range(10):  # the session worker may take it; try until the graceful worker does
            run = client.runs.create(thread_id, "logged", input=logged_input(log, 6, 0.3), durability="sync")
            if _worker_name_of(stack, run["run_id"]) == "worker-e":
                break
            client.runs.join(thread_id, run["run_id"])
        else:
            pytest.skip("the graceful worker never claimed a run")
        wait_for(lambda: any(line["run_id"] == run["run_id"] for line in read_log(log)), what="a step executed")
        stack.stop("worker-e", signal.SIGTERM)
        result = client.runs.join(thread_id, run["run_id"])
    finally:
        stack.stop("worker-e")
    assert client.runs.get(thread_id, run["run_id"])["status"] == "success"
    assert result["counter"] % 6 == 0
    assert stack.sql("SELECT attempt FROM runs_run WHERE run_id = %s", (run["run_id"],))[0][0] == 2
    assert_no_overlap(read_log(log))
