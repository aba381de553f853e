"""A network partition of one "host" (issue 10, item 9): a worker on a host of its own (a network namespace,
tests/reliability/partition.py) is cut off from PostgreSQL and Redis while it runs, without an error or a reset,
as a failed network cuts hosts apart. Its leases must expire and another worker take its runs over, resumed
from their checkpoints; no run may execute on both at once; and when the network heals, whatever the cut-off
worker still had in flight must be refused (fenced), so the runs end once, as the invariants check."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from tests.reliability.conftest import LONG
from tests.reliability.invariants import TERMINAL, check, observe, plan_runs, read_step_log, unfinished
from tests.reliability.partition import Partition
from tests.stack import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(600 if LONG else 180)]

# (threads, runs per thread, steps, seconds a step, seconds the network stays cut at least: PARTITION_SECS, to try
# longer cuts in the short form)
SHAPE = (20, 4, 8, 0.25, 30.0) if LONG else (6, 1, 8, 0.25, float(os.environ.get("PARTITION_SECS", "0")))


@pytest.fixture
def partition(fault_stack):
    partition = Partition(fault_stack.postgres.port, fault_stack.redis.port)
    yield partition
    partition.close()


def held_by(faults, pid: int) -> list[str]:
    rows = faults.stack.sql(
        "SELECT run_id::text FROM runs_run WHERE status = 'running' AND lease_owner LIKE %s", (f"%:{pid}:%",)
    )
    return [row[0] for row in rows]


def taken_over(faults, run_ids: list[str], pid: int) -> bool:
    """Every one of the runs is terminal or leased by another worker."""
    rows = faults.stack.sql("SELECT status, lease_owner FROM runs_run WHERE run_id = ANY(%s)", (run_ids,))
    return all(status in TERMINAL or (owner and f":{pid}:" not in owner) for status, owner in rows)


def snapshot(faults, planned) -> dict:
    """Everything the runs' attempts can write: checkpoints, checkpoint writes, run and thread rows, stream logs."""
    sql, threads = faults.stack.sql, sorted({run.thread_id for run in planned})
    redis = faults.redis_client()
    return {
        "checkpoints": sql(
            "SELECT thread_id, checkpoint_id FROM checkpoints WHERE thread_id = ANY(%s) ORDER BY 1, 2", (threads,)
        ),
        "writes": sql(
            "SELECT thread_id, checkpoint_id, task_id, idx FROM checkpoint_writes WHERE thread_id = ANY(%s) "
            "ORDER BY 1, 2, 3, 4",
            (threads,),
        ),
        "runs": sql(
            "SELECT run_id, status, attempt, output, updated_at, ended_at FROM runs_run WHERE thread_id = ANY(%s) "
            "ORDER BY 1",
            (threads,),
        ),
        "threads": sql(
            "SELECT thread_id, status, values, updated_at FROM threads_thread WHERE thread_id = ANY(%s) ORDER BY 1",
            (threads,),
        ),
        "streams": [redis.xrange(f"agentplatform:run:{run.run_id}:events") for run in planned],
    }


def diagnosis(faults, run_ids: list[str]) -> str:
    sql = faults.stack.sql
    runs = sql(
        "SELECT run_id, status, attempt, lease_owner, lease_expires_at, enqueued_at, thread_id FROM runs_run "
        "WHERE run_id = ANY(%s) AND status IN ('pending', 'running')",
        (run_ids,),
    )
    activity = sql(
        "SELECT pid, state, wait_event_type, wait_event, now() - xact_start, left(query, 200) "
        "FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle'"
    )
    clients = [
        (c.get("cmd"), c.get("flags"), c.get("age"), c.get("idle"), c.get("addr"))
        for c in faults.redis_client().client_list()
    ]
    queue = faults.redis_client().llen("celery")
    return f"unfinished: {runs}\nactivity: {activity}\nredis clients: {clients}\nqueue: {queue}"


def stopped_attempts(log: Path, run_ids: list[str]) -> list[float] | None:
    """When the worker ended each of the runs' attempts, once it has for all: "lease lost" names the run; an
    attempt that failed on the database and could not give its run back either ends its Celery task with the
    error (the lease then expires, as for a crash)."""
    lost, raised = {}, []
    for line in log.read_text(errors="replace").splitlines():
        at = line[:23]
        run_id = next((run_id for run_id in run_ids if f"run {run_id}: lease lost" in line), None)
        if run_id is not None:
            lost.setdefault(run_id, datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp())
        elif "runs.tasks.execute_run[" in line and "raised unexpected" in line:
            raised.append(datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp())
    ended = [*lost.values(), *raised]
    return ended if len(ended) >= len(run_ids) else None


def attempts_at_once(lines: list[dict], run_ids: list[str]) -> int:
    """Pairs of steps of one run, from different attempts, whose executions overlapped in time."""
    overlaps = 0
    for run_id in run_ids:
        steps = sorted((line for line in lines if line["run_id"] == run_id), key=lambda line: line["start"])
        for i, before in enumerate(steps):
            for after in steps[i + 1 :]:
                if after["start"] < before["end"] and after["attempt"] != before["attempt"]:
                    overlaps += 1
    return overlaps


def start_workers(faults, partition: Partition):
    """worker-cut on the partitioned host, reaching PostgreSQL and Redis through its link; worker-b here."""
    stack = faults.stack
    through_link = {
        "DATABASE_URI": partition.relay.address(stack.database_uri),
        "REDIS_URI": partition.relay.address(faults.redis.uri),
    }
    with ThreadPoolExecutor(2) as pool:
        starting = [
            pool.submit(stack.start_worker, "worker-cut", through_link, wrap=partition.wrap),
            pool.submit(stack.start_worker, "worker-b"),
        ]
        for worker in starting:
            worker.result()
    cut_off = stack.processes["worker-cut"]
    assert partition.holds(cut_off.pid), "worker-cut runs outside the partitioned host: cutting it would prove nothing"
    return cut_off


def cut_while_runs_move(faults, partition: Partition, planned, held: list[str], pid: int, cut_secs: float):
    """Cut the host off until its runs were taken over, every run ended and `cut_secs` passed; then heal.
    Returns when it was cut (wall clock), the takeover and all-ended delays, and the snapshot before healing."""
    run_ids = [run.run_id for run in planned]
    partition.cut()
    cut_at, cut_wall = time.monotonic(), time.time()
    try:
        wait_for(lambda: taken_over(faults, held, pid), timeout=60, what="takeover of the host's runs")
        takeover = time.monotonic() - cut_at
        try:
            wait_for(lambda: not unfinished(faults.stack, run_ids), timeout=40, what="every run ended")
        except AssertionError:
            print(diagnosis(faults, run_ids))
            raise
        all_ended = time.monotonic() - cut_at
        time.sleep(max(0.0, cut_secs - (time.monotonic() - cut_at)))
        return cut_wall, takeover, all_ended, snapshot(faults, planned)
    finally:
        partition.heal()


def test_a_worker_cut_off_by_the_network_loses_its_runs_to_another_and_writes_nothing_when_it_heals(
    faults, partition, tmp_path
):
    threads, per_thread, steps, step_secs, cut_secs = SHAPE
    client, log = faults.client, tmp_path / "steps.jsonl"
    cut_off = start_workers(faults, partition)
    planned = plan_runs(client, threads=threads, runs_per_thread=per_thread, log=log, steps=steps, seconds=step_secs)
    wait_for(lambda: any(line["pid"] == cut_off.pid for line in read_step_log(log)), what="a step on the host")
    held = wait_for(lambda: held_by(faults, cut_off.pid), what="a run held by the host")
    cut_wall, takeover, all_ended, before = cut_while_runs_move(faults, partition, planned, held, cut_off.pid, cut_secs)
    healed = time.time() - cut_wall
    cut_off_log = faults.stack.log_dir / "worker-cut.log"
    stopped = wait_for(lambda: stopped_attempts(cut_off_log, held), timeout=60, what="the host stopping its runs")
    # TCP retransmits what the host still had in flight after its backoff, which doubled while the network was
    # cut: within about as long again.
    time.sleep(max(2.0, 2 * healed + 1 - (time.time() - cut_wall)))
    changed = [key for key, value in snapshot(faults, planned).items() if before[key] != value]

    lines = read_step_log(log)
    late = [line for line in lines if line["pid"] == cut_off.pid and line["end"] > cut_wall + takeover]
    stopped_after, twice = max(stopped) - cut_wall, attempts_at_once(lines, held)
    report = check(observe(faults.stack, client, faults.redis_client(), planned, log))
    print(
        f"\npartition ({partition.mechanism}): {len(planned)} runs on {threads} threads, two workers; the host held "
        f"{len(held)} run(s) when cut; taken over after {takeover:.1f}s, all ended {all_ended:.1f}s after the cut; "
        f"network healed after {healed:.1f}s; the host stopped its attempts {stopped_after:.1f}s after the cut; "
        f"{len(late)} step(s) of the host ended past the takeover, {twice} step(s) ran on both hosts at once; the "
        f"host changed {changed or 'nothing'} once healed; {report.figures}"
    )
    if partition.host is not None:  # the relay's kernel acknowledges what it holds: no timeout can tell
        assert stopped_after < healed, "the cut-off worker stopped its runs only once the network healed"
    assert not changed, f"the cut-off host wrote after the takeover: {changed}"
    assert twice == 0
    report.assert_ok()
    assert cut_off.poll() is None, "the cut-off worker exited instead of recovering"
