"""Workers SIGKILLed every few seconds under load: runs enqueued on many threads, two workers, the busier one
killed (and a new one started in its place) again and again while runs are in flight. Every run must end once,
successfully, resumed from its last checkpoint, and the invariants must hold (tests/reliability/invariants.py)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.reliability.conftest import LONG
from tests.reliability.invariants import check, observe, plan_runs, unfinished

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(1200 if LONG else 300)]

# (threads, runs per thread, seconds between kills, most kills): a few hundred runs in the long form.
SHAPE = (30, 10, 4.0, 100) if LONG else (8, 5, 3.0, 3)
STEPS, STEP_SECS = 4, 0.3
WORKERS = ("worker-1", "worker-2")


def _leased_by(faults, pid: int) -> int:
    rows = faults.stack.sql(
        "SELECT count(*) FROM runs_run WHERE status = 'running' AND lease_owner LIKE %s", (f"%:{pid}:%",)
    )
    return rows[0][0]


class Killer:
    """Kills the busiest ready worker on demand, restarts it in the background, and measures for each kill how
    long until none of the dead worker's runs was still leased by it (the sweeper took them back)."""

    def __init__(self, faults, pool: ThreadPoolExecutor) -> None:
        self.faults, self.pool = faults, pool
        self.starting: dict[str, Future] = {}
        self.dead: dict[int, float] = {}  # pid -> when it was killed
        self.recoveries: list[float] = []

    def kill_busiest(self) -> bool:
        """Kill the ready worker holding the most leases, if it holds any: a kill of an idle worker (a loaded
        machine's replacement still starting, the runs not claimed yet) tests nothing, so it waits."""
        ready = [name for name in WORKERS if name not in self.starting or self.starting[name].done()]
        for future in self.starting.values():
            if future.done():
                future.result()  # a replacement that failed to start fails the case here
        processes = self.faults.stack.processes
        leased = {name: _leased_by(self.faults, processes[name].pid) for name in ready}
        victim = max(leased, key=leased.get, default=None)
        if victim is None or not leased[victim]:
            return False
        self.dead[processes[victim].pid] = time.monotonic()
        self.faults.stack.stop(victim, signal.SIGKILL)
        self.starting[victim] = self.pool.submit(self.faults.stack.start_worker, victim)
        return True

    def poll(self) -> None:
        for pid, killed_at in list(self.dead.items()):
            if not _leased_by(self.faults, pid):
                self.recoveries.append(time.monotonic() - killed_at)
                del self.dead[pid]

    def settle(self) -> None:
        for future in self.starting.values():
            future.result()


def test_runs_survive_workers_killed_every_few_seconds(faults, tmp_path):
    threads, per_thread, every, most_kills = SHAPE
    faults.start_workers(*WORKERS)
    log = tmp_path / "steps.jsonl"
    started = time.monotonic()
    client = faults.client
    planned = plan_runs(client, threads=threads, runs_per_thread=per_thread, log=log, steps=STEPS, seconds=STEP_SECS)
    run_ids = [run.run_id for run in planned]
    with ThreadPoolExecutor(len(WORKERS)) as pool:
        killer, next_kill, kills = Killer(faults, pool), time.monotonic() + 1.0, 0
        while unfinished(faults.stack, run_ids) and time.monotonic() - started < 900:
            if kills < most_kills and time.monotonic() >= next_kill and killer.kill_busiest():
                kills, next_kill = kills + 1, time.monotonic() + every
            killer.poll()
            time.sleep(0.1)
        killer.settle()
    took = time.monotonic() - started
    report = check(observe(faults.stack, client, faults.redis_client(), planned, log))
    worst = max(killer.recoveries, default=0)
    print(
        f"sigkill: {len(planned)} runs on {threads} threads, {kills} worker kills every {every:g}s, all ended in "
        f"{took:.0f}s, a killed worker's runs re-leased within {worst:.1f}s (worst); {report.figures}"
    )
    report.assert_ok()
    assert report.figures["retried_runs"], "no kill hit a run in flight: make the load longer"
