"""The sweeper at scale against real Postgres: no thread starved, no flood of doorbells, delayed runs rung once
when due (issue 10.5)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from runs.engine import leases, sweeper
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)
AN_HOUR_AGO = timedelta(hours=1)


@pytest.fixture(autouse=True)
def rung(monkeypatch):
    calls: list[str] = []
    lock = threading.Lock()

    def ring(run_id, countdown=None):
        with lock:
            calls.append(str(run_id))

    monkeypatch.setattr("runs.engine.doorbell.ring", ring)
    monkeypatch.setattr("runs.engine.doorbell.waiting", lambda: 0)
    return calls


def waiting_runs(count: int, *, rung_ago: timedelta | None, due_in: float = 0, oldest_on_newest_thread=True):
    """`count` pending runs, one per thread, each an hour-or-less old. The oldest run is on the thread created
    last (thread ids are time-ordered), so any order but age would reach it last."""
    now = timezone.now()
    threads = Thread.objects.bulk_create([Thread(status="busy") for _ in range(count)])
    runs = []
    for index, thread in enumerate(threads):
        age = timedelta(seconds=index if oldest_on_newest_thread else count - index)
        runs.append(
            Run(
                thread=thread,
                assistant_id=uuid.uuid4(),
                created_at=now - age,
                available_at=now - age + timedelta(seconds=due_in),
                enqueued_at=None if rung_ago is None else now - rung_ago,
            )
        )
    Run.objects.bulk_create(runs)
    return sorted(runs, key=lambda run: run.available_at)


def test_thousands_of_waiting_threads_are_re_rung_oldest_first_none_starved(rung, monkeypatch):
    monkeypatch.setattr(sweeper, "BATCH", 100)
    runs = waiting_runs(3000, rung_ago=AN_HOUR_AGO)
    first = sweeper.run_sweep()
    assert first["resent"] == 100
    assert set(rung) == {str(run.run_id) for run in runs[:100]}, "the oldest waiting runs come first"
    for _ in range(29):
        sweeper.run_sweep()
    assert sorted(rung) == sorted(str(run.run_id) for run in runs), "every thread was rung exactly once"
    assert sweeper.run_sweep()["resent"] == 0, "nothing is rung again before PENDING_RUN_RESEND_SECS"


def test_recently_rung_threads_do_not_hide_stale_ones_behind_the_limit(rung, monkeypatch):
    monkeypatch.setattr(sweeper, "BATCH", 100)
    waiting_runs(500, rung_ago=timedelta(0))  # older, just rung: their doorbells are on their way
    stale = waiting_runs(50, rung_ago=AN_HOUR_AGO, oldest_on_newest_thread=False)
    assert sweeper.run_sweep()["resent"] == 50
    assert sorted(rung) == sorted(str(run.run_id) for run in stale)


@pytest.mark.parametrize(("waiting", "expected"), [(0, 100), (sweeper.BACKLOG_MAX - 30, 30), (10**6, 0), (None, 0)])
def test_re_rings_only_top_the_queue_up_to_its_backlog_limit(rung, monkeypatch, waiting, expected):
    monkeypatch.setattr(sweeper, "BATCH", 100)
    monkeypatch.setattr("runs.engine.doorbell.waiting", lambda: waiting)
    waiting_runs(300, rung_ago=AN_HOUR_AGO)
    assert sweeper.run_sweep()["resent"] == expected


def test_a_delayed_run_is_rung_once_when_due_and_not_before(rung):
    (run,) = waiting_runs(1, rung_ago=None, due_in=3600)
    assert sweeper.run_ring_due() == 0
    Run.objects.filter(run_id=run.run_id).update(available_at=timezone.now())
    assert sweeper.run_ring_due() == 1
    assert sweeper.run_ring_due() == 0
    assert rung == [str(run.run_id)]


def test_thousands_of_due_runs_are_rung_oldest_first_in_batches(rung, monkeypatch):
    monkeypatch.setattr(sweeper, "BATCH", 500)
    runs = waiting_runs(3000, rung_ago=None)
    assert sweeper.run_ring_due() == 500
    assert set(rung) == {str(run.run_id) for run in runs[:500]}
    while sweeper.run_ring_due():
        pass
    assert len(rung) == len(set(rung)) == 3000


def test_a_due_run_behind_a_running_one_is_rung_by_the_worker_that_finishes(rung):
    thread = Thread.objects.create(status="busy")
    now = timezone.now()
    running = Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), created_at=now - timedelta(seconds=5))
    leases.run_claim(run_id=running.run_id, owner="w")
    delayed = Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), available_at=now + timedelta(hours=1))
    assert sweeper.run_ring_due() == 0
    assert leases.next_pending_run_id(thread_id=thread.thread_id) is None, "not due: the sweeper rings it later"
    Run.objects.filter(run_id=delayed.run_id).update(available_at=now)
    assert sweeper.run_ring_due() == 0, "its thread is busy"
    assert leases.next_pending_run_id(thread_id=thread.thread_id) == delayed.run_id


def test_two_beats_sweeping_at_once_ring_each_run_once(rung):
    waiting_runs(400, rung_ago=None)
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            sweeper.run_ring_due()
        finally:
            connection.close()

    sweeps = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in sweeps:
        thread.start()
    for thread in sweeps:
        thread.join()
    assert len(rung) == len(set(rung)) == 400
