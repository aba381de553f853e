"""PostgreSQL restarted mid-run under load: attempts fail on their checkpoint writes or lease renewals, are given
back or swept, and resume from their last checkpoint; the API, beat and workers reconnect by themselves. Every run
must still end once, successfully, with the invariants intact (tests/reliability/invariants.py)."""

from __future__ import annotations

import time

import pytest

from tests.reliability.conftest import LONG
from tests.reliability.invariants import check, observe, plan_runs, read_step_log, unfinished

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(1200 if LONG else 300)]

THREADS, PER_THREAD, RESTARTS = (20, 5, 3) if LONG else (4, 3, 1)
STEPS, STEP_SECS = 4, 0.3


def _unfinished_across_outages(faults, run_ids: list[str]) -> int:
    try:
        return unfinished(faults.stack, run_ids)
    except Exception:  # Postgres is still coming back
        return -1


def test_runs_survive_postgres_restarts_mid_run(faults, tmp_path):
    faults.start_workers("worker-1", "worker-2")
    log = tmp_path / "steps.jsonl"
    started = time.monotonic()
    planned = plan_runs(
        faults.client, threads=THREADS, runs_per_thread=PER_THREAD, log=log, steps=STEPS, seconds=STEP_SECS
    )
    run_ids = [run.run_id for run in planned]
    outages = []
    for _ in range(RESTARTS):
        steps_before = len(read_step_log(log))
        while len(read_step_log(log)) < steps_before + 4:
            time.sleep(0.05)
        down_at = time.monotonic()
        faults.postgres.stop()
        time.sleep(1)
        faults.postgres.start()
        outages.append(time.monotonic() - down_at)
    restarted_at = time.monotonic()
    while _unfinished_across_outages(faults, run_ids) and time.monotonic() - started < 300:
        time.sleep(0.2)
    recovered_in = time.monotonic() - restarted_at
    report = check(observe(faults.stack, faults.client, faults.redis_client(), planned, log))
    print(
        f"postgres restart: {len(planned)} runs on {THREADS} threads, {RESTARTS} restart(s) of "
        f"{max(outages):.1f}s, all ended {recovered_in:.1f}s after the last; {report.figures}"
    )
    report.assert_ok()
