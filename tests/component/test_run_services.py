"""run_create / run_cancel / run_delete against real Postgres (doorbells captured, not sent)."""

from __future__ import annotations

import uuid

import pytest

from agentplatform.errors import BadRequest, Conflict, InvalidInput, NotFound
from assistants.models import system_assistant_id
from runs import services
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_doorbell(monkeypatch):
    rung: list = []
    monkeypatch.setattr(
        "runs.engine.doorbell.ring", lambda run_id, countdown=None: rung.append((str(run_id), countdown))
    )
    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)
    return rung


@pytest.fixture
def thread():
    return Thread.objects.create(metadata={"owner": "a"})


def create(thread, **payload):
    return services.run_create(thread_id=thread.thread_id, payload={"assistant_id": "echo", **payload})


def test_create_returns_pending_run_with_official_kwargs(thread, no_doorbell):
    run = create(thread, input={"value": "x"}, metadata={"m": 1, "run_id": "spoof"}, config={"tags": ["t"]})
    assert run.status == "pending"
    configurable = run.kwargs["config"]["configurable"]
    assert configurable["run_id"] == str(run.run_id)
    assert configurable["thread_id"] == str(thread.thread_id)
    assert configurable["graph_id"] == "echo"
    assert configurable["assistant_id"] == str(system_assistant_id("echo"))
    assert run.kwargs["stream_mode"] == ["values"]
    assert run.kwargs["input"] == {"value": "x"}
    assert run.kwargs["config"]["tags"] == ["t"]
    # api-surface §2.2: assistant metadata, thread metadata and request metadata merged; assistant_id forced.
    assert run.metadata == {
        "created_by": "system",
        "owner": "a",
        "m": 1,
        "assistant_id": str(system_assistant_id("echo")),
    }
    assert run.multitask_strategy == "enqueue"
    assert no_doorbell == [(str(run.run_id), None)]


def test_create_marks_thread_busy_and_records_graph(thread):
    create(thread)
    thread.refresh_from_db()
    assert thread.status == "busy"
    assert thread.metadata["graph_id"] == "echo"
    assert thread.metadata["assistant_id"] == str(system_assistant_id("echo"))


def test_reject_returns_409_when_thread_busy(thread):
    create(thread)
    with pytest.raises(Conflict, match="Thread is already running a task"):
        create(thread, multitask_strategy="reject")
    assert Run.objects.filter(thread=thread).count() == 1


def test_enqueue_keeps_both_runs_pending(thread):
    first, second = create(thread), create(thread, multitask_strategy="enqueue")
    statuses = dict(Run.objects.values_list("run_id", "status"))
    assert statuses == {first.run_id: "pending", second.run_id: "pending"}


def test_interrupt_cancels_pending_run_at_once(thread):
    first = create(thread)
    create(thread, multitask_strategy="interrupt")
    assert Run.objects.get(run_id=first.run_id).status == "interrupted"


def test_interrupt_asks_the_worker_to_stop_a_running_run(thread):
    first = create(thread)
    Run.objects.filter(run_id=first.run_id).update(status="running")
    create(thread, multitask_strategy="interrupt")
    assert Run.objects.get(run_id=first.run_id).cancel_action == "interrupt"


def test_rollback_deletes_pending_run(thread):
    first = create(thread)
    create(thread, multitask_strategy="rollback")
    assert not Run.objects.filter(run_id=first.run_id).exists()


def test_missing_thread_is_404_unless_if_not_exists_create():
    thread_id = uuid.uuid4()
    with pytest.raises(NotFound, match="Thread or assistant not found"):
        services.run_create(thread_id=thread_id, payload={"assistant_id": "echo"})
    run = services.run_create(thread_id=thread_id, payload={"assistant_id": "echo", "if_not_exists": "create"})
    thread = Thread.objects.get(thread_id=thread_id)
    assert run.thread_id == thread_id
    assert thread.status == "busy"
    assert thread.metadata["graph_id"] == "echo"


def test_unknown_assistant_uuid_is_404_and_unknown_name_422(thread):
    with pytest.raises(NotFound, match="Thread or assistant not found"):
        services.run_create(thread_id=thread.thread_id, payload={"assistant_id": str(uuid.uuid4())})
    with pytest.raises(InvalidInput, match="registered graphs"):
        services.run_create(thread_id=thread.thread_id, payload={"assistant_id": "nope"})


def test_unknown_stream_mode_is_422(thread):
    with pytest.raises(InvalidInput, match="stream_mode"):
        create(thread, stream_mode=["values", "bogus"])


def test_config_and_context_together_is_400(thread):
    with pytest.raises(BadRequest, match="Cannot specify both configurable and context"):
        create(thread, config={"configurable": {"a": 1}}, context={"b": 2})


def test_resume_without_thread_is_400():
    with pytest.raises(BadRequest, match="You must provide a thread_id when resuming"):
        services.run_create(thread_id=None, payload={"assistant_id": "echo", "command": {"resume": "x"}})


def test_stateless_run_gets_temporary_thread_unless_kept():
    temporary = services.run_create(thread_id=None, payload={"assistant_id": "echo"})
    kept = services.run_create(thread_id=None, payload={"assistant_id": "echo", "on_completion": "keep"})
    assert temporary.temporary and temporary.kwargs["temporary"] is True
    assert not kept.temporary
    assert Thread.objects.filter(thread_id__in=[temporary.thread_id, kept.thread_id]).count() == 2


def test_after_seconds_delays_availability_and_leaves_the_doorbell_to_the_sweeper(thread, no_doorbell):
    run = create(thread, after_seconds=30)
    assert (run.available_at - run.updated_at).total_seconds() >= 29
    assert no_doorbell == [], "a long Celery countdown would come back after the broker's visibility timeout"
    assert Run.objects.get(run_id=run.run_id).enqueued_at is None


def test_a_short_delay_rings_with_a_countdown_due_at_its_start(thread, no_doorbell):
    run = create(thread, after_seconds=1.5)
    assert no_doorbell == [(str(run.run_id), 1.5)]
    assert Run.objects.get(run_id=run.run_id).enqueued_at == run.available_at


def test_cancel_pending_run_interrupts_it_and_frees_thread(thread):
    run = create(thread)
    services.run_cancel(thread_id=thread.thread_id, run_ids=[run.run_id])
    thread.refresh_from_db()
    assert Run.objects.get(run_id=run.run_id).status == "interrupted"
    assert thread.status == "idle"


def test_cancel_finished_run_is_404(thread):
    run = create(thread)
    Run.objects.filter(run_id=run.run_id).update(status="success")
    with pytest.raises(NotFound, match="No matching runs to cancel"):
        services.run_cancel(thread_id=thread.thread_id, run_ids=[run.run_id])


def test_bulk_cancel_by_status(thread):
    runs = [create(thread) for _ in range(3)]
    cancelled = services.run_cancel(status="pending", action="rollback")
    assert set(cancelled) == {r.run_id for r in runs}
    assert not Run.objects.filter(thread=thread).exists()


def test_delete_finished_run_removes_it(thread):
    run = create(thread)
    Run.objects.filter(run_id=run.run_id).update(status="success")
    services.run_delete(thread_id=thread.thread_id, run_id=run.run_id)
    assert not Run.objects.filter(run_id=run.run_id).exists()


def test_enqueue_beyond_the_pending_runs_cap_is_422_naming_the_setting(thread, settings):
    settings.RUNS_MAX_PENDING_PER_THREAD = 2
    create(thread), create(thread)
    with pytest.raises(InvalidInput, match=r"has 2 pending runs.*RUNS_MAX_PENDING_PER_THREAD"):
        create(thread, multitask_strategy="enqueue")
    assert Run.objects.filter(thread=thread).count() == 2


def test_a_batch_over_the_size_cap_is_422_naming_the_setting(settings):
    settings.RUNS_BATCH_MAX_SIZE = 2
    payloads = [{"assistant_id": "echo", "input": {"value": str(n)}} for n in range(3)]
    with pytest.raises(InvalidInput, match=r"at most 2 runs.*RUNS_BATCH_MAX_SIZE"):
        services.run_create_batch(payloads=payloads)
    assert not Run.objects.exists()


def test_a_running_run_shows_interrupted_as_soon_as_its_cancel_is_accepted(thread, monkeypatch):
    from runs import selectors
    from runs.serializers import run_json

    published: list = []
    monkeypatch.setattr("agentplatform.stream_log.publish_cancel_sync", lambda *args: published.append(args))
    run = create(thread)
    Run.objects.filter(run_id=run.run_id).update(status="running")
    services.run_cancel(thread_id=thread.thread_id, run_ids=[run.run_id])
    shown = run_json(selectors.run_get(thread_id=thread.thread_id, run_id=run.run_id))
    assert shown["status"] == "interrupted", "as the official server answers right after POST .../cancel"
    assert Run.objects.get(run_id=run.run_id).status == "running", "the row stays running until its worker stops"
    assert published == [(run.run_id, "interrupt")]
    assert [r.run_id for r in selectors.run_list(thread_id=thread.thread_id, status="interrupted")] == [run.run_id]
    assert selectors.run_list(thread_id=thread.thread_id, status="running") == []


def test_a_run_being_cancelled_cannot_be_cancelled_again_nor_blocks_reject(thread, monkeypatch):
    monkeypatch.setattr("agentplatform.stream_log.publish_cancel_sync", lambda *args: None)
    run = create(thread)
    Run.objects.filter(run_id=run.run_id).update(status="running")
    services.run_cancel(thread_id=thread.thread_id, run_ids=[run.run_id])
    with pytest.raises(NotFound, match="No matching runs to cancel"):
        services.run_cancel(thread_id=thread.thread_id, run_ids=[run.run_id], action="rollback")
    nxt = create(thread, multitask_strategy="reject")
    assert Run.objects.get(run_id=nxt.run_id).status == "pending"


def test_metrics_json_reports_the_queue_and_workers_as_officially(thread):
    from django.test import Client

    client = Client()
    first, second = create(thread), create(thread)
    Run.objects.filter(pk=first.pk).update(status=Run.Status.RUNNING)

    body = client.get("/metrics?format=json").json()

    assert body["queue"]["n_pending"] == 1 and body["queue"]["n_running"] == 1
    assert body["queue"]["pending_runs_wait_time_max_secs"] >= 0
    assert body["queue"]["pending_unblocked_runs_wait_time_max_secs"] is None  # its thread is busy
    assert set(body["workers"]) == {"max", "active", "available"} and body["workers"]["active"] == 1
    assert client.get("/metrics?format=nope")["content-type"].startswith("text/plain")
    assert second.status == "pending"


def test_a_run_is_built_again_under_the_lock_when_its_thread_changed_since_it_was_read(thread, monkeypatch):
    from runs import enqueue

    stale = enqueue.ThreadRow(thread.thread_id, {"owner": "before"}, {})
    monkeypatch.setattr(enqueue, "thread_read", lambda thread_id: stale)
    run = create(thread)
    assert run.metadata["owner"] == "a", "the thread's metadata as it is under the lock, not as first read"
    assert Run.objects.get(run_id=run.run_id).metadata["owner"] == "a"
    thread.refresh_from_db()
    assert thread.metadata["owner"] == "a" and thread.metadata["graph_id"] == "echo"


def test_inside_an_open_transaction_reject_and_the_pending_cap_still_apply(thread, settings):
    from django.db import transaction

    settings.RUNS_MAX_PENDING_PER_THREAD = 2
    with transaction.atomic():
        create(thread), create(thread)
        with pytest.raises(InvalidInput, match="has 2 pending runs"), transaction.atomic():
            create(thread, multitask_strategy="enqueue")
        with pytest.raises(Conflict), transaction.atomic():
            create(thread, multitask_strategy="reject")
    assert Run.objects.filter(thread=thread).count() == 2
    thread.refresh_from_db()
    assert thread.status == "busy"
