"""The run engine's invariants (design.md "Data and invariants"), checked from outside after a fault.

A fault case creates runs of the `stepped` test graph (tests/graphs/graphs.py) with `plan_runs`. That graph appends
one line per step executed to a step log file (run, thread, step, attempt, pid, start, end), emits one custom
stream event per step, and keeps a `trail` of its steps in the thread's state. After the faults, `observe` gathers
what the stack recorded and `check` reports every violation of:

1. terminal once: every accepted run reaches exactly one terminal status (none left pending or running, nor lost),
   and its stream log, when Redis still has it, ends with exactly one done event that agrees with Postgres;
2. no overlap: two runs of one thread never execute at once (their step intervals never intersect);
3. order: the runs of a thread start in the order they were created (`multitask_strategy=enqueue`);
4. replayed state: a thread's state equals its runs' steps replayed in creation order, each exactly once;
5. gap-free streams: in each run's log the ids increase, attempts start in increasing order, every step's event is
   there, and no event of an attempt appears after a later attempt started (a zombie's write).

The checks are plain functions of plain data, so other fault cases (and tests/unit) can use them on their own.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

TERMINAL = ("success", "error", "timeout", "interrupted")
DONE_EVENT = "__done__"  # agentplatform.stream_log.DONE_EVENT, spelled here so the checker imports no app code


@dataclass(frozen=True)
class Planned:
    """A run a case created: its thread and how many steps it has."""

    run_id: str
    thread_id: str
    steps: int


# One stream log entry: (id, event, decoded data).
Entry = tuple[str, str, Any]


@dataclass
class Observed:
    """What the stack recorded about the planned runs (in creation order)."""

    planned: list[Planned]
    rows: dict[str, dict]  # run_id -> its row: status, attempt, created_at, started_at, ended_at
    lines: list[dict]  # the step log
    streams: dict[str, list[Entry] | None]  # run_id -> its stream log (None: Redis no longer has it)
    trails: dict[str, list[str]]  # thread_id -> `trail` of its state


@dataclass
class Report:
    violations: list[str]
    figures: dict[str, Any] = field(default_factory=dict)

    def assert_ok(self) -> None:
        assert not self.violations, f"{len(self.violations)} invariant violation(s):\n" + "\n".join(
            self.violations[:40]
        )


def read_step_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stepped_input(log: Path, steps: int, seconds: float) -> dict:
    """The input of a `stepped` run."""
    return {"log": str(log), "steps": steps, "seconds": seconds, "done": 0}


def _by_thread(planned: Iterable[Planned]) -> dict[str, list[Planned]]:
    threads: dict[str, list[Planned]] = defaultdict(list)
    for run in planned:
        threads[run.thread_id].append(run)
    return threads


def check_terminal_once(observed: Observed, expected_status: str | None = "success") -> list[str]:
    violations = []
    for run in observed.planned:
        row = observed.rows.get(run.run_id)
        if row is None:
            violations.append(f"run {run.run_id} lost: no row")
            continue
        if row["status"] not in TERMINAL:
            violations.append(f"run {run.run_id} stuck: {row['status']} after attempt {row['attempt']}")
        elif expected_status and row["status"] != expected_status:
            violations.append(f"run {run.run_id} ended {row['status']}, expected {expected_status}")
        violations += _done_once(run.run_id, row["status"], observed.streams.get(run.run_id))
    return violations


def _done_once(run_id: str, status: str, entries: list[Entry] | None) -> list[str]:
    if not entries:
        return []
    done = [i for i, (_, event, _) in enumerate(entries) if event == DONE_EVENT]
    if len(done) != 1:
        return [f"run {run_id}: {len(done)} done events in its stream log"]
    if done[0] != len(entries) - 1:
        return [f"run {run_id}: {len(entries) - 1 - done[0]} event(s) after its done event"]
    logged = entries[done[0]][2].get("status")
    return [] if logged == status else [f"run {run_id}: stream says {logged}, Postgres says {status}"]


def check_no_overlap(lines: list[dict]) -> list[str]:
    """Steps of different runs of one thread never run at the same time."""
    violations = []
    by_thread: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_thread[line["thread_id"]].append(line)
    for steps in by_thread.values():
        steps.sort(key=lambda line: line["start"])
        for i, before in enumerate(steps):
            for after in steps[i + 1 :]:
                if after["start"] >= before["end"]:
                    break
                if after["run_id"] != before["run_id"]:
                    violations.append(f"runs overlap on thread {before['thread_id']}: {before} and {after}")
    return violations


def check_order(observed: Observed) -> list[str]:
    """The runs of a thread first started (step log) in creation order."""
    first_start: dict[str, float] = {}
    for line in observed.lines:
        first_start[line["run_id"]] = min(line["start"], first_start.get(line["run_id"], line["start"]))
    violations = []
    for thread_id, runs in _by_thread(observed.planned).items():
        started = [run.run_id for run in runs if run.run_id in first_start]
        if sorted(started, key=first_start.__getitem__) != started:
            violations.append(f"thread {thread_id}: runs started out of creation order")
    return violations


def check_replayed_state(observed: Observed) -> list[str]:
    violations = []
    for thread_id, runs in _by_thread(observed.planned).items():
        expected = [f"{run.run_id}:{step}" for run in runs for step in range(run.steps)]
        trail = observed.trails.get(thread_id)
        if trail == expected:
            continue
        if trail is None:
            violations.append(f"thread {thread_id}: no state")
            continue
        extra = Counter(trail) - Counter(expected)
        missing = Counter(expected) - Counter(trail)
        violations.append(
            f"thread {thread_id}: state differs from its replayed steps (applied twice: {sorted(extra)[:5]}, "
            f"missing: {sorted(missing)[:5]}, {len(trail)} steps instead of {len(expected)})"
        )
    return violations


def _entry_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def check_stream(run: Planned, entries: list[Entry] | None) -> list[str]:
    """One run's log: increasing ids, increasing attempts, each step logged, no stale attempt after a later one."""
    if entries is None:
        return []
    ids = [_entry_order(entry_id) for entry_id, _, _ in entries]
    violations = [] if all(a < b for a, b in itertools.pairwise(ids)) else [f"run {run.run_id}: ids not increasing"]
    attempt, steps_seen = 0, set()
    for entry_id, event, data in entries:
        if event == "metadata":
            if data["attempt"] <= attempt:
                violations.append(f"run {run.run_id}: attempt {data['attempt']} started after attempt {attempt}")
            attempt = max(attempt, data["attempt"])
        elif event == "custom":
            if data.get("attempt") != attempt:
                violations.append(
                    f"run {run.run_id}: event {entry_id} of attempt {data.get('attempt')} in attempt {attempt}"
                )
            steps_seen.add(data["step"])
    missing = sorted(set(range(run.steps)) - steps_seen)
    if missing:
        violations.append(f"run {run.run_id}: no event for step(s) {missing}")
    return violations


def check_streams(observed: Observed) -> list[str]:
    return [v for run in observed.planned for v in check_stream(run, observed.streams.get(run.run_id))]


CHECKS: tuple[Callable[[Observed], list[str]], ...] = (
    check_terminal_once,
    lambda observed: check_no_overlap(observed.lines),
    check_order,
    check_replayed_state,
    check_streams,
)


def figures(observed: Observed) -> dict[str, Any]:
    planned_steps = sum(run.steps for run in observed.planned)
    statuses = Counter(row["status"] for row in observed.rows.values())
    attempts = [row["attempt"] for row in observed.rows.values()]
    return {
        "runs": len(observed.planned),
        "threads": len(_by_thread(observed.planned)),
        "statuses": dict(statuses),
        "retried_runs": sum(1 for attempt in attempts if attempt > 1),
        "max_attempt": max(attempts, default=0),
        "steps": planned_steps,
        "re_executed_steps": len(observed.lines) - planned_steps,
        "lost": sum(1 for run in observed.planned if run.run_id not in observed.rows)
        + sum(1 for row in observed.rows.values() if row["status"] not in TERMINAL),
    }


def check(observed: Observed, checks: Iterable[Callable[[Observed], list[str]]] = CHECKS) -> Report:
    return Report([v for one_check in checks for v in one_check(observed)], figures(observed))


# Gathering what a real stack recorded (tests/stack.py Stack, a redis-py client, a langgraph_sdk sync client).


def plan_runs(
    client: Any, *, threads: int, runs_per_thread: int, log: Path, steps: int, seconds: float
) -> list[Planned]:
    """Create `threads` threads and enqueue `runs_per_thread` stepped runs on each, round robin."""
    thread_ids = [client.threads.create()["thread_id"] for _ in range(threads)]
    planned = []
    for _ in range(runs_per_thread):
        for thread_id in thread_ids:
            run = client.runs.create(
                thread_id,
                "stepped",
                input=stepped_input(log, steps, seconds),
                multitask_strategy="enqueue",
                stream_mode=["custom"],
                durability="sync",
            )
            planned.append(Planned(run["run_id"], thread_id, steps))
    return planned


def run_rows(stack: Any, run_ids: list[str]) -> dict[str, dict]:
    rows = stack.sql(
        "SELECT run_id::text, status, attempt, created_at, started_at, ended_at FROM runs_run WHERE run_id = ANY(%s)",
        (run_ids,),
    )
    keys = ("status", "attempt", "created_at", "started_at", "ended_at")
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}


def stream_entries(redis: Any, run_id: str) -> list[Entry] | None:
    rows = redis.xrange(f"agentplatform:run:{run_id}:events")
    if not rows:
        return None
    return [(entry_id.decode(), fields[b"event"].decode(), orjson.loads(fields[b"data"])) for entry_id, fields in rows]


def unfinished(stack: Any, run_ids: list[str]) -> int:
    return stack.sql(
        "SELECT count(*) FROM runs_run WHERE run_id = ANY(%s) AND status IN ('pending', 'running')", (run_ids,)
    )[0][0]


def observe(stack: Any, client: Any, redis: Any, planned: list[Planned], log: Path) -> Observed:
    run_ids = [run.run_id for run in planned]
    trails = {}
    for thread_id in _by_thread(planned):
        trails[thread_id] = (client.threads.get_state(thread_id)["values"] or {}).get("trail", [])
    return Observed(
        planned=planned,
        rows=run_rows(stack, run_ids),
        lines=[line for line in read_step_log(log) if line["run_id"] in set(run_ids)],
        streams={run_id: stream_entries(redis, run_id) for run_id in run_ids},
        trails=trails,
    )
