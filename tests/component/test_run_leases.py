"""Claim, lease, fence and sweep against real Postgres (design.md invariants 1-4)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from runs.engine import leases, sweeper
from runs.engine.leases import Lease
from runs.engine.outcomes import Outcome
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rung(monkeypatch):
    calls: list = []
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: calls.append(str(run_id)))
    return calls


@pytest.fixture
def thread():
    return Thread.objects.create(status="busy")


def pending(thread, *, seconds_ago: float = 0, available_in: float = 0, **fields) -> Run:
    now = timezone.now()
    created = now - timedelta(seconds=seconds_ago)
    return Run.objects.create(
        thread=thread,
        assistant_id=uuid.uuid4(),
        created_at=created,
        available_at=now + timedelta(seconds=available_in),
        kwargs={"config": {"configurable": {"graph_id": "echo"}}},
        **fields,
    )


def test_claim_takes_the_oldest_pending_run_of_the_thread(thread):
    newer = pending(thread, seconds_ago=1)
    older = pending(thread, seconds_ago=5)
    run, lease = leases.run_claim(run_id=newer.run_id, owner="w")
    assert run.run_id == older.run_id
    assert run.status == "running"
    assert run.attempt == 1
    assert run.lease_token == lease.token
    assert run.lease_expires_at > timezone.now()


def test_second_claim_on_a_thread_with_a_running_run_claims_nothing(thread):
    first, second = pending(thread, seconds_ago=2), pending(thread)
    assert leases.run_claim(run_id=first.run_id, owner="a") is not None
    assert leases.run_claim(run_id=second.run_id, owner="b") is None
    assert Run.objects.get(run_id=second.run_id).status == "pending"


def test_claim_skips_runs_that_are_not_yet_available(thread):
    run = pending(thread, available_in=60)
    assert leases.run_claim(run_id=run.run_id, owner="w") is None


def test_duplicate_doorbell_claims_nothing(thread):
    run = pending(thread)
    assert leases.run_claim(run_id=run.run_id, owner="a") is not None
    assert leases.run_claim(run_id=run.run_id, owner="a") is None
    assert Run.objects.get(run_id=run.run_id).attempt == 1


def test_renewal_with_a_stale_token_fails_and_reads_cancel_action(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    Run.objects.filter(run_id=run.run_id).update(cancel_action="interrupt")
    assert leases.lease_renew(lease) == (True, "interrupt")
    stale = Lease(lease.run_id, lease.thread_id, uuid.uuid4())
    assert leases.lease_renew(stale) == (False, None)
    assert leases.lease_cancel_action(stale) == (False, None)


def test_expired_lease_is_never_revived(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    Run.objects.filter(run_id=run.run_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert leases.lease_renew(lease) == (False, None)


def test_finish_is_fenced_on_the_lease_token(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    stale = Lease(lease.run_id, lease.thread_id, uuid.uuid4())
    assert not leases.lease_finish(stale, Outcome("success", result={"a": 1}), temporary=False)
    assert Run.objects.get(run_id=run.run_id).status == "running"
    assert leases.lease_finish(lease, Outcome("success", result={"a": 1}), temporary=False)
    assert Run.objects.get(run_id=run.run_id).status == "success"


def test_finish_sets_thread_status_from_the_ending(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    ending = Outcome("success", values={"v": 1}, interrupts={"t": [{"id": "i", "value": 1}]}, has_next=True)
    ending.state_read = True
    leases.lease_finish(lease, ending, temporary=False)
    thread.refresh_from_db()
    assert (thread.status, thread.values, thread.interrupts) == (
        "interrupted",
        {"v": 1},
        {"t": [{"id": "i", "value": 1}]},
    )


def test_finish_keeps_thread_busy_while_another_run_waits(thread):
    first = pending(thread, seconds_ago=1)
    pending(thread)
    _, lease = leases.run_claim(run_id=first.run_id, owner="w")
    error = {"error": "ValueError", "message": "x"}
    leases.lease_finish(lease, Outcome("error", error=error), temporary=False)
    thread.refresh_from_db()
    assert thread.status == "busy"


def test_finish_writes_the_runs_end_and_an_error_on_its_thread(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    error = {"error": "ValueError", "message": "x"}
    assert leases.lease_finish(lease, Outcome("error", result={"__error__": error}, error=error), temporary=False)
    run.refresh_from_db()
    thread.refresh_from_db()
    assert (run.status, run.output, run.error, run.lease_token, run.lease_expires_at) == (
        "error",
        {"__error__": error},
        error,
        None,
        None,
    )
    assert run.ended_at is not None and run.ended_at == run.updated_at
    assert (thread.status, thread.error) == ("error", error)


def test_finish_without_the_state_read_leaves_the_threads_values(thread):
    Thread.objects.filter(thread_id=thread.thread_id).update(values={"kept": 1})
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    assert leases.lease_finish(lease, Outcome("success"), temporary=False)
    thread.refresh_from_db()
    assert (thread.status, thread.values, thread.error) == ("idle", {"kept": 1}, None)


def test_finish_drops_nul_characters_from_the_threads_state(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    ending = Outcome("success", values={"k\x00ey": "va\x00lue"}, state_read=True)
    assert leases.lease_finish(lease, ending, temporary=False)
    thread.refresh_from_db()
    assert thread.values == {"key": "value"}


def test_finish_names_the_threads_oldest_due_pending_run_to_ring_for(thread):
    first = pending(thread, seconds_ago=9)
    pending(thread, seconds_ago=8, available_in=60)  # older, but not due yet: the sweeper rings it later
    due = pending(thread, seconds_ago=5)
    pending(thread, seconds_ago=1)
    _, lease = leases.run_claim(run_id=first.run_id, owner="w")
    before = timezone.now()
    finished = leases.lease_finish(lease, Outcome("success"), temporary=False)
    assert finished.next_run_id == due.run_id
    assert Run.objects.get(run_id=due.run_id).enqueued_at >= before
    thread.refresh_from_db()
    assert thread.status == "busy"


def test_finish_names_no_next_run_when_none_is_due(thread):
    first = pending(thread, seconds_ago=1)
    pending(thread, available_in=60)
    _, lease = leases.run_claim(run_id=first.run_id, owner="w")
    assert leases.lease_finish(lease, Outcome("success"), temporary=False).next_run_id is None
    thread.refresh_from_db()
    assert thread.status == "busy", "a delayed run keeps its thread busy"


def test_finish_inside_an_open_transaction_commits_with_it(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert leases.lease_finish(lease, Outcome("success"), temporary=False)
        assert Run.objects.get(run_id=run.run_id).status == "success"
        raise RuntimeError("the caller's transaction rolls back")
    assert Run.objects.get(run_id=run.run_id).status == "running"


def test_rollback_finish_deletes_the_run_and_names_the_next(thread):
    first = pending(thread, seconds_ago=1)
    second = pending(thread)
    _, lease = leases.run_claim(run_id=first.run_id, owner="w")
    finished = leases.lease_finish(lease, Outcome("rollback"), temporary=False)
    assert finished.next_run_id == second.run_id
    assert not Run.objects.filter(run_id=first.run_id).exists()
    thread.refresh_from_db()
    assert thread.status == "busy"


def test_rollback_finish_on_a_lost_lease_deletes_nothing(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    stale = Lease(lease.run_id, lease.thread_id, uuid.uuid4())
    assert leases.lease_finish(stale, Outcome("rollback"), temporary=False) is None
    assert Run.objects.get(run_id=run.run_id).status == "running"


def test_finish_of_a_temporary_run_deletes_its_thread(thread):
    run = pending(thread, temporary=True)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    assert leases.lease_finish(lease, Outcome("success"), temporary=True)
    assert not Thread.objects.filter(thread_id=thread.thread_id).exists()


def test_finish_of_a_temporary_run_on_a_lost_lease_deletes_nothing(thread):
    run = pending(thread, temporary=True)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    stale = Lease(lease.run_id, lease.thread_id, uuid.uuid4())
    assert not leases.lease_finish(stale, Outcome("success"), temporary=True)
    assert Run.objects.get(run_id=run.run_id).status == "running"
    assert Thread.objects.filter(thread_id=thread.thread_id).exists()


def test_release_puts_the_run_back_to_pending(thread):
    run = pending(thread)
    _, lease = leases.run_claim(run_id=run.run_id, owner="w")
    assert leases.lease_release(lease)
    released = Run.objects.get(run_id=run.run_id)
    assert (released.status, released.lease_token, released.attempt) == ("pending", None, 1)


def test_sweeper_leaves_a_just_expired_lease_to_its_worker_for_a_grace_period(thread, rung):
    run = pending(thread)
    leases.run_claim(run_id=run.run_id, owner="w")
    Run.objects.filter(run_id=run.run_id).update(lease_expires_at=timezone.now() - timedelta(milliseconds=10))
    assert sweeper.run_sweep()["requeued"] == 0
    assert Run.objects.get(run_id=run.run_id).status == "running"


def test_sweeper_requeues_expired_leases_and_rings_them(thread, rung):
    run = pending(thread)
    leases.run_claim(run_id=run.run_id, owner="w")
    Run.objects.filter(run_id=run.run_id).update(lease_expires_at=timezone.now() - timedelta(hours=1))
    result = sweeper.run_sweep()
    assert result["requeued"] == 1
    swept = Run.objects.get(run_id=run.run_id)
    assert (swept.status, swept.lease_token) == ("pending", None)
    assert str(run.run_id) in rung


def test_sweeper_rerings_only_stale_pending_runs_of_idle_threads(thread, rung):
    stale_at = timezone.now() - timedelta(hours=1)
    stale = pending(thread, seconds_ago=2, enqueued_at=stale_at)
    fresh_thread = Thread.objects.create()
    pending(fresh_thread, enqueued_at=timezone.now())
    blocked_thread = Thread.objects.create()
    pending(blocked_thread, seconds_ago=3, status="running", lease_expires_at=timezone.now() + timedelta(hours=1))
    pending(blocked_thread, enqueued_at=stale_at)
    sweeper.run_sweep()
    assert rung == [str(stale.run_id)]


def test_too_many_attempts_fail_the_run_with_a_clear_error(thread, monkeypatch, settings):
    from runs.engine import worker

    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)
    run = pending(thread, attempt=settings.BG_JOB_MAX_RETRIES)
    worker.run_execute(run_id=run.run_id)
    failed = Run.objects.get(run_id=run.run_id)
    assert failed.status == "error"
    assert "exceeded max attempts" in failed.error["message"]
    thread.refresh_from_db()
    assert thread.status == "error"


def test_sweeper_fails_an_expired_run_on_its_last_attempt(thread, monkeypatch, settings):
    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)
    run = pending(thread, attempt=settings.BG_JOB_MAX_RETRIES - 1)
    leases.run_claim(run_id=run.run_id, owner="w")
    Run.objects.filter(run_id=run.run_id).update(lease_expires_at=timezone.now() - timedelta(hours=1))
    sweeper.run_sweep()
    failed = Run.objects.get(run_id=run.run_id)
    assert failed.status == "error"
    assert "exceeded max attempts" in failed.error["message"]
    thread.refresh_from_db()
    assert thread.status == "error"


def _claim_behind_thread_lock(thread, run, holder_sql: str) -> tuple | None:
    """A claim for `run` that waits for the thread's lock while another transaction holds it, runs `holder_sql`
    (%s: the run id) and commits; what the claim then got."""
    import threading

    import psycopg
    from django.db import connection

    from agentplatform.persistence import database_conninfo

    result: list = []

    def claim() -> None:
        try:
            result.append(leases.run_claim(run_id=run.run_id, owner="waiting"))
        finally:
            connection.close()

    with psycopg.connect(database_conninfo()) as holder:
        holder.execute("SELECT 1 FROM threads_thread WHERE thread_id = %s FOR UPDATE", [thread.thread_id])
        waiter = threading.Thread(target=claim)
        waiter.start()
        _wait_for_lock_wait(holder)
        holder.execute(holder_sql, [run.run_id])
        holder.commit()
    waiter.join(10)
    return result[0]


def _wait_for_lock_wait(conn, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%locked%'"
    while conn.execute("SELECT pg_stat_clear_snapshot()") and conn.execute(query).fetchone()[0] == 0:
        assert time.monotonic() < deadline, "the claim never waited for the thread lock"
        time.sleep(0.02)


def test_claim_that_waited_for_the_thread_lock_claims_nothing_when_the_holder_claimed_the_run(thread):
    run = pending(thread)
    holder_claim = "UPDATE runs_run SET status = 'running', lease_token = gen_random_uuid() WHERE run_id = %s"
    assert _claim_behind_thread_lock(thread, run, holder_claim) is None
    assert Run.objects.filter(thread=thread, status="running").count() == 1


def test_claim_that_waited_for_the_thread_lock_leaves_a_run_cancelled_meanwhile(thread):
    run = pending(thread)
    cancel = "UPDATE runs_run SET status = 'interrupted' WHERE run_id = %s"
    assert _claim_behind_thread_lock(thread, run, cancel) is None
    assert Run.objects.get(run_id=run.run_id).status == "interrupted"


def test_claim_that_waited_for_the_thread_lock_claims_a_run_the_holder_left_pending(thread):
    run = pending(thread)
    claimed = _claim_behind_thread_lock(thread, run, "SELECT %s")
    assert claimed is not None and claimed[0].run_id == run.run_id
