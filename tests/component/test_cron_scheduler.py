"""Firing due crons with an injected clock: once per due date, claimed under SKIP LOCKED, runs built from payload."""

import datetime
import threading

import pytest
from django.db import connection

from crons import services
from crons.models import Cron
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2030, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)


def _cron(thread_id=None, **body) -> Cron:
    body = {"assistant_id": "echo", "schedule": "*/5 * * * *", "input": {"value": "tick"}, **body}
    fields = {
        k: body[k] for k in ("schedule", "timezone", "end_time", "metadata", "enabled", "on_run_completed") if k in body
    }
    cron = services.cron_create(body=body, assistant_id=body["assistant_id"], thread_id=thread_id, **fields)
    Cron.objects.filter(pk=cron.pk).update(next_run_date=NOW)
    return cron


def _runs(cron: Cron):
    return Run.objects.filter(kwargs__config__configurable__cron_id=str(cron.cron_id))


def test_due_cron_fires_once_and_advances_to_its_next_date():
    cron = _cron()
    assert services.crons_fire_due(now=NOW) >= 1
    assert _runs(cron).count() == 1
    cron.refresh_from_db()
    assert cron.next_run_date == NOW + datetime.timedelta(minutes=5)
    services.crons_fire_due(now=NOW)
    assert _runs(cron).count() == 1


def test_nothing_fires_before_the_date_and_the_clock_decides():
    cron = _cron()
    services.crons_fire_due(now=NOW - datetime.timedelta(seconds=1))
    assert _runs(cron).count() == 0
    services.crons_fire_due(now=NOW + datetime.timedelta(hours=3))
    assert _runs(cron).count() == 1, "missed firings collapse into one"
    cron.refresh_from_db()
    assert cron.next_run_date == NOW + datetime.timedelta(hours=3, minutes=5)


def test_disabled_and_ended_crons_do_not_fire():
    disabled = _cron(enabled=False)
    ended = _cron(end_time=NOW - datetime.timedelta(minutes=1))
    services.crons_fire_due(now=NOW)
    assert _runs(disabled).count() == 0
    assert _runs(ended).count() == 0


def test_stateless_run_uses_payload_metadata_and_a_temporary_thread():
    cron = _cron(metadata={"origin": "cron", "k": "cron"}, config={"metadata": {}})
    Cron.objects.filter(pk=cron.pk).update(payload={**cron.payload, "metadata": {"k": "run"}})
    services.crons_fire_due(now=NOW)
    run = _runs(cron).get()
    assert run.kwargs["input"] == {"value": "tick"}
    assert run.metadata["origin"] == "cron" and run.metadata["k"] == "run"
    assert run.kwargs["temporary"] is True
    assert run.thread_id is not None


def test_on_run_completed_keep_keeps_the_thread():
    cron = _cron(on_run_completed="keep")
    services.crons_fire_due(now=NOW)
    assert _runs(cron).get().kwargs["temporary"] is False


def test_thread_cron_runs_on_its_thread_and_a_refused_firing_still_advances():
    thread = Thread.objects.create()
    cron = _cron(thread_id=thread.thread_id, multitask_strategy="reject")
    services.crons_fire_due(now=NOW)
    assert _runs(cron).get().thread_id == thread.thread_id
    # The first run is still pending: with "reject" the next firing is refused, and the schedule moves on.
    Cron.objects.filter(pk=cron.pk).update(next_run_date=NOW)
    services.crons_fire_due(now=NOW)
    assert _runs(cron).count() == 1
    cron.refresh_from_db()
    assert cron.next_run_date > NOW


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_fire_a_due_cron_exactly_once():
    cron = _cron()
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def tick():
        try:
            barrier.wait(timeout=30)
            fired.append(services.crons_fire_due(now=NOW))
        finally:
            connection.close()

    workers = [threading.Thread(target=tick) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(fired) == [0, 1]
    assert _runs(cron).count() == 1


def test_a_tick_works_through_every_batch_of_due_crons():
    crons = [_cron() for _ in range(3)]
    Cron.objects.filter(pk__in=[c.pk for c in crons]).update(next_run_date=datetime.datetime.now(datetime.UTC))
    assert services.crons_fire_all_due(batch=2) >= 3
    assert all(_runs(cron).count() == 1 for cron in crons)


def test_cron_with_context_fires_without_the_configurable_cron_id():
    cron = _cron(context={"greeting": "hey"})
    assert cron.payload["config"]["configurable"]["cron_id"] == str(cron.cron_id)
    services.crons_fire_due(now=NOW)
    run = Run.objects.filter(kwargs__context__greeting="hey", created_at__gte=cron.created_at).get()
    assert run.kwargs["context"]["greeting"] == "hey"
