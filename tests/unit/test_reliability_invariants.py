"""The fault suite's invariant checker (tests/reliability/invariants.py) finds each kind of violation."""

from __future__ import annotations

from tests.reliability.invariants import (
    DONE_EVENT,
    Observed,
    Planned,
    check,
    check_no_overlap,
    check_order,
    check_replayed_state,
    check_stream,
    check_terminal_once,
)

A, B = Planned("run-a", "t", 2), Planned("run-b", "t", 2)


def line(run: Planned, step: int, start: float, end: float, attempt: int = 1) -> dict:
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "step": step,
        "attempt": attempt,
        "start": start,
        "end": end,
    }


def log_of(run: Planned, *attempts: tuple[int, list[int]], done: str | None = "success") -> list:
    entries, clock = [], 1
    for attempt, steps in attempts:
        entries.append((f"{clock}-0", "metadata", {"run_id": run.run_id, "attempt": attempt}))
        clock += 1
        for step in steps:
            entries.append((f"{clock}-0", "custom", {"run_id": run.run_id, "step": step, "attempt": attempt}))
            clock += 1
    if done:
        entries.append((f"{clock}-0", DONE_EVENT, {"status": done, "result": {}}))
    return entries


def healthy() -> Observed:
    rows = {run.run_id: {"status": "success", "attempt": 1} for run in (A, B)}
    lines = [line(A, 0, 0, 1), line(A, 1, 1, 2), line(B, 0, 2, 3), line(B, 1, 3, 4)]
    streams = {A.run_id: log_of(A, (1, [0, 1])), B.run_id: log_of(B, (1, [0, 1]))}
    trails = {"t": ["run-a:0", "run-a:1", "run-b:0", "run-b:1"]}
    return Observed([A, B], rows, lines, streams, trails)


def test_a_healthy_history_has_no_violation():
    report = check(healthy())
    assert report.violations == []
    assert report.figures["lost"] == 0 and report.figures["re_executed_steps"] == 0


def test_a_run_left_running_or_without_a_row_is_reported():
    observed = healthy()
    observed.rows[A.run_id]["status"] = "running"
    del observed.rows[B.run_id]
    violations = check_terminal_once(observed)
    assert any("stuck" in v for v in violations) and any("lost" in v for v in violations)
    assert check(observed).figures["lost"] == 2


def test_a_second_done_event_or_an_event_after_it_is_reported():
    observed = healthy()
    observed.streams[A.run_id] = observed.streams[A.run_id] + [("99-0", "custom", {"step": 1, "attempt": 1})]
    assert any("after its done event" in v for v in check_terminal_once(observed))


def test_overlapping_runs_of_a_thread_are_reported_but_not_two_attempts_of_one_run():
    assert check_no_overlap([line(A, 0, 0, 2), line(B, 0, 1, 3)])
    assert check_no_overlap([line(A, 0, 0, 2), line(A, 0, 1, 3, attempt=2)]) == []


def test_runs_starting_out_of_creation_order_are_reported():
    observed = healthy()
    observed.lines = [line(B, 0, 0, 1), line(A, 0, 2, 3)]
    assert check_order(observed)


def test_a_step_applied_twice_or_missing_from_the_state_is_reported():
    observed = healthy()
    observed.trails["t"] = ["run-a:0", "run-a:1", "run-a:1", "run-b:0"]
    (violation,) = check_replayed_state(observed)
    assert "run-a:1" in violation and "run-b:1" in violation


def test_a_stream_missing_a_step_is_reported():
    assert check_stream(A, log_of(A, (1, [0])))


def test_a_stale_attempts_event_after_a_takeover_is_reported():
    entries = log_of(A, (1, [0]), (2, [1]), done=None)
    entries.append(("90-0", "custom", {"run_id": A.run_id, "step": 1, "attempt": 1}))  # the zombie
    assert any("of attempt 1 in attempt 2" in v for v in check_stream(A, entries))


def test_a_resumed_run_with_a_re_executed_step_is_fine():
    assert check_stream(A, log_of(A, (1, [0]), (2, [0, 1]))) == []
