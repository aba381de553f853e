"""Fault suite: a flood of delayed runs (issue 10.5). Hundreds of runs with `after_seconds` 1-3 on many threads,
two beats, both killed mid-flood and replaced: every run executes exactly once, none before its time, none lost,
the runs of a thread in order, and a beat's liveness file stays fresh.

RELIABILITY_LONG=1 floods more than fifteen times as many runs."""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from tests.conftest import INTEGRATION_ENV
from tests.reliability.conftest import LONG, kill_all
from tests.stack import Stack

pytestmark = pytest.mark.integration
THREADS = 1000 if LONG else 60
RUNS_PER_THREAD = 3


@pytest.fixture(scope="module")
def flood_stack():
    redis_uri = os.environ["REDIS_URI"].rsplit("/", 1)[0] + "/13"
    log_dir = Path(tempfile.mkdtemp(prefix="agentplatform-delayed-flood-"))
    stack = Stack(base_env={**INTEGRATION_ENV, "REDIS_URI": redis_uri}, log_dir=log_dir)
    stack.create_database()
    stack.start_api_and_workers("worker")
    stack.liveness = log_dir / "beat-alive"
    stack.start_beat("beat", extra_env={"BEAT_LIVENESS_FILE": str(stack.liveness)})
    stack.start_beat("beat-b")  # a second beat: every firing doubled
    yield stack
    kill_all(stack)


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def create_flood(client, log: Path) -> list[dict]:
    rng = random.Random(5)
    threads = [client.threads.create()["thread_id"] for _ in range(THREADS)]
    jobs = [(thread_id, round(rng.uniform(1, 3), 2)) for thread_id in threads for _ in range(RUNS_PER_THREAD)]
    body = {"log": str(log), "steps": 1, "seconds": 0.01}

    def create(job):
        thread_id, delay = job
        run = client.runs.create(thread_id, "logged", input=body, after_seconds=delay, multitask_strategy="enqueue")
        return {**run, "delay": delay}

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, jobs))


def test_a_flood_of_delayed_runs_runs_each_once_on_time_in_order_with_beats_replaced(flood_stack, tmp_path):
    client = get_sync_client(url=flood_stack.url, timeout=60)
    log = tmp_path / "exec.jsonl"
    started = time.monotonic()
    runs = create_flood(client, log)
    # Both beats die mid-flood (their schedule files left behind) and come back a second later (and their start's
    # seconds): the firings they missed were only doorbells for sweeps of Postgres, which the next firing makes up for.
    flood_stack.stop("beat", signal.SIGKILL)
    flood_stack.stop("beat-b", signal.SIGKILL)
    time.sleep(1)
    flood_stack.start_beat("beat", extra_env={"BEAT_LIVENESS_FILE": str(flood_stack.liveness)})
    flood_stack.start_beat("beat-b")
    expected = len(runs)
    deadline = time.monotonic() + (600 if LONG else 120)
    while len(read_log(log)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a duplicate execution would show up by now
    elapsed = time.monotonic() - started
    lines = read_log(log)
    executions = Counter(line["run_id"] for line in lines)
    assert set(executions) == {run["run_id"] for run in runs}, f"lost: {expected - len(executions)}"
    assert max(executions.values()) == 1, "a delayed run executed twice"
    starts = {line["run_id"]: line["start"] for line in lines}
    early = [run for run in runs if starts[run["run_id"]] < datetime.fromisoformat(run["created_at"]).timestamp()]
    assert early == [], "a run started before its after_seconds"
    by_thread = defaultdict(list)
    for run in runs:
        by_thread[run["thread_id"]].append(run)
    for thread_runs in by_thread.values():
        by_due = sorted(thread_runs, key=lambda run: run["created_at"])
        assert [starts[r["run_id"]] for r in by_due] == sorted(starts[r["run_id"]] for r in by_due), "out of order"
    statuses = Counter(status for (status,) in flood_stack.sql("SELECT status FROM runs_run"))
    assert statuses == {"success": expected}
    late = {
        run["run_id"]: starts[run["run_id"]] - datetime.fromisoformat(run["created_at"]).timestamp() for run in runs
    }
    by_countdown = [late[run["run_id"]] for run in runs if run["delay"] <= 2]  # runs.engine.doorbell.COUNTDOWN_MAX_SECS
    by_sweeper = [late[run["run_id"]] for run in runs if run["delay"] > 2]
    deadline = time.monotonic() + 60  # a beat takes seconds to start on a loaded machine
    while time.time() - flood_stack.liveness.stat().st_mtime > 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert time.time() - flood_stack.liveness.stat().st_mtime <= 3, "the replaced beat touches its liveness file"
    print(
        f"delayed flood: {expected} runs (after_seconds 1-3) on {THREADS} threads, two beats, both SIGKILLed mid-flood "
        f"and replaced: all ran once in {elapsed:.1f}s, 0 early, 0 lost, 0 twice; start after due, p50/max: rung by "
        f"countdown {statistics.median(by_countdown):.2f}/{max(by_countdown):.2f}s, by the sweeper "
        f"{statistics.median(by_sweeper):.2f}/{max(by_sweeper):.2f}s (load average {os.getloadavg()[0]:.1f})"
    )
