"""Broker loss while runs are in flight (issue 10, item 1): the same worker process resumes consuming by itself.

20 runs of a slow graph on 10 threads and one worker with 10 slots: 10 run, 10 wait in Redis. Redis is stopped
(without saving, or after a SAVE so its data comes back) and started again. Every run must reach a terminal
status within a bound, and the worker that was serving before must be the one serving after: same PID, no
restart, and it executes a run submitted after the broker came back.

A second test breaks a worker's consumer from inside (still connected, event loop running, polling no queue):
the consumer watchdog must notice and make it reconnect in the same process.

Each test uses a Redis and stack of its own, since it restarts Redis or breaks the only consumer of its queue.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
import redis as redis_lib
from langgraph_sdk import get_sync_client

from agentplatform.embedded import EmbeddedRedis, free_port
from tests.conftest import INTEGRATION_ENV
from tests.integration.test_recovery import logged_input, read_log, wait_for
from tests.stack import Stack

pytestmark = pytest.mark.integration

THREADS = 10
RUNS_PER_THREAD = 2
TERMINAL = {"success", "error", "timeout", "interrupted"}
# Redis is back for at most this long before the worker consumes again (it retries every 3 s at most), and
# before every run in flight or stranded has ended.
RESUME_BOUND_SECS = 15
RECOVERY_BOUND_SECS = 45


def _start_stack(prefix: str, env: dict, worker_env: dict):
    """A stack on a Redis of its own (it is restarted, or its queue must be this worker's alone)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    redis = EmbeddedRedis(root / "redis", free_port()).start()
    stack = Stack(base_env={**INTEGRATION_ENV, **env, "REDIS_URI": redis.uri}, log_dir=root)
    stack.create_database()
    stack.start_api_and_workers("worker", worker_env=worker_env)
    stack.start_beat()
    return stack, redis


@pytest.fixture
def own_stack():
    with tempfile.TemporaryDirectory() as scratch:
        liveness = {"WORKER_LIVENESS_FILE": f"{scratch}/worker-alive", "WORKER_PROBE_INTERVAL_SECS": "1"}
        stack, redis = _start_stack("agentplatform-broker-loss-", {}, liveness)
        yield stack, redis, Path(liveness["WORKER_LIVENESS_FILE"])
        stack.stop_all()
        redis.stop()


def _restart_redis(redis: EmbeddedRedis, *, keep_data: bool, down_secs: float) -> None:
    if keep_data:
        redis_lib.Redis.from_url(redis.uri).save()  # dump.rdb in the data folder, loaded again at start
    redis.stop()  # SIGTERM with `--save ""`: nothing more is written
    time.sleep(down_secs)
    redis.start()


def _statuses(stack: Stack, run_ids: list[str]) -> dict[str, str]:
    rows = stack.sql("SELECT run_id::text, status FROM runs_run WHERE run_id::text = ANY(%s)", (run_ids,))
    return dict(rows)


def _start_runs(stack: Stack, client, log: Path) -> list[str]:
    """RUNS_PER_THREAD runs on each of THREADS threads, each 4 s long; returns once one per thread is running."""
    threads = [client.threads.create()["thread_id"] for _ in range(THREADS)]
    runs = [
        client.runs.create(thread_id, "logged", input=logged_input(log, 4, 1.0))["run_id"]
        for thread_id in threads
        for _ in range(RUNS_PER_THREAD)
    ]
    wait_for(lambda: list(_statuses(stack, runs).values()).count("running") == THREADS, what="10 runs running")
    return runs


@pytest.mark.parametrize(
    ("keep_data", "down_secs"), [(False, 2), (True, 2), (False, 15)], ids=["without-data", "with-data", "long-outage"]
)
def test_worker_resumes_consuming_after_a_redis_restart_mid_run(own_stack, tmp_path, keep_data, down_secs):
    stack, redis, liveness_file = own_stack
    worker_pid = stack.processes["worker"].pid
    client = get_sync_client(url=stack.url)
    log = tmp_path / "exec.jsonl"
    runs = _start_runs(stack, client, log)
    _restart_redis(redis, keep_data=keep_data, down_secs=down_secs)
    back_at, back_at_wall = time.monotonic(), time.time()

    # A run submitted as soon as Redis is back is executed once the worker consumes again.
    fresh_thread = client.threads.create()["thread_id"]
    fresh = client.runs.create(fresh_thread, "logged", input=logged_input(log, 1, 0.05))["run_id"]
    assert _wait_terminal(stack, [fresh], RESUME_BOUND_SECS) == {fresh: "success"}
    resumed_in = time.monotonic() - back_at
    statuses = _wait_terminal(stack, runs, RECOVERY_BOUND_SECS)
    recovered_in = time.monotonic() - back_at

    assert set(statuses.values()) == {"success"}, statuses
    assert stack.processes["worker"].poll() is None, "the worker process must still be alive"
    assert {line["pid"] for line in read_log(log)} == {worker_pid}, "every step ran in the one worker process"
    assert liveness_file.stat().st_mtime > back_at_wall, "the watchdog saw the consumer consume again"
    lost = sum(status not in TERMINAL for status in statuses.values())
    print(
        f"broker loss ({'with' if keep_data else 'without'} data): {len(runs)} runs, Redis down {down_secs}s; a new run"
        f" done {resumed_in:.1f}s and all {len(runs)} terminal {recovered_in:.1f}s after it came back,"
        f" lost={lost}, same worker pid"
    )


def _wait_terminal(stack: Stack, runs: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = _statuses(stack, runs)
        if all(status in TERMINAL for status in statuses.values()):
            return statuses
        time.sleep(0.2)
    stuck = {run_id: status for run_id, status in _statuses(stack, runs).items() if status not in TERMINAL}
    log = (stack.log_dir / "worker.log").read_text(errors="replace")[-3000:]
    exit_code = stack.processes["worker"].poll()
    raise AssertionError(
        f"{len(stuck)} runs not terminal {timeout}s after Redis came back (worker exit code: {exit_code}):"
        f" {stuck}\n{log}"
    )


FAULT_GRAPHS = Path(__file__).resolve().parent.parent / "graphs" / "langgraph_faults.json"


@pytest.fixture
def faults_stack():
    """A worker with a quick watchdog, running the graphs that inject faults into it."""
    graphs = {"LANGGRAPH_CONFIG": str(FAULT_GRAPHS)}
    quick = {
        "WORKER_PROBE_INTERVAL_SECS": "0.5",
        "WORKER_CONSUMER_STALL_SECS": "4",
        "WORKER_CONSUMER_REPAIR_SECS": "5",
        "BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": "1",
    }
    stack, redis = _start_stack("agentplatform-consumer-stall-", graphs, quick)
    yield stack
    stack.stop_all()
    redis.stop()


def test_watchdog_reconnects_a_consumer_that_stopped_consuming(faults_stack, tmp_path):
    stack = faults_stack
    worker_pid = stack.processes["worker"].pid
    client = get_sync_client(url=stack.url)
    client.runs.wait(client.threads.create()["thread_id"], "stop_consuming", input={})
    broken_at = time.monotonic()
    time.sleep(1.5)  # the BRPOP in flight when the consumer broke has timed out: nothing is consumed now
    log = tmp_path / "exec.jsonl"
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "logged", input=logged_input(log, 1, 0.05))
    statuses = _wait_terminal(stack, [run["run_id"]], 30)
    repaired_in = time.monotonic() - broken_at
    assert statuses == {run["run_id"]: "success"}
    worker_log = (stack.log_dir / "worker.log").read_text(errors="replace")
    assert "took no probe" in worker_log, "the watchdog, not luck, got the consumer back"
    assert {line["pid"] for line in read_log(log)} == {worker_pid}
    assert stack.processes["worker"].poll() is None
    print(f"stalled consumer: repaired in the same process, run done {repaired_in:.1f}s after the consumer broke")


def test_worker_exits_non_zero_when_its_consumer_cannot_be_repaired(faults_stack):
    stack = faults_stack
    worker = stack.processes["worker"]
    client = get_sync_client(url=stack.url)
    client.runs.wait(client.threads.create()["thread_id"], "stop_consuming_for_good", input={})
    broken_at = time.monotonic()
    # Stall (4 s), reconnect, repair time (5 s), then a warm shutdown with nothing left to finish.
    assert worker.wait(60) == 1, "the worker exits with status 1 for its supervisor to start a fresh one"
    exited_in = time.monotonic() - broken_at
    worker_log = (stack.log_dir / "worker.log").read_text(errors="replace")
    assert "shutting the worker down with status 1" in worker_log
    print(f"unrepairable consumer: the worker exited with status 1 {exited_in:.1f}s after it broke")
