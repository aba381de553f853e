"""Beat sweeps for thread and store TTLs: scheduled, batched, and leaving live or busy threads alone."""

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone

from maintenance.services import threads_sweep_expired
from threads.models import Thread

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_thread_and_store_sweeps():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"maintenance.sweep_expired_threads", "store.sweep_expired_items", "crons.fire_due_crons"} <= tasks


def test_sweep_works_through_every_batch_and_spares_live_and_busy_threads():
    past = timezone.now() - timezone.timedelta(minutes=1)
    expired = [Thread.objects.create(expires_at=past, ttl_minutes=1, ttl_strategy="delete") for _ in range(5)]
    busy = Thread.objects.create(expires_at=past, ttl_minutes=1, status=Thread.Status.BUSY)
    live = Thread.objects.create(expires_at=timezone.now() + timezone.timedelta(hours=1), ttl_minutes=60)
    never = Thread.objects.create()

    assert threads_sweep_expired(batch=2) == 5

    assert not Thread.objects.filter(thread_id__in=[t.thread_id for t in expired]).exists()
    assert Thread.objects.filter(thread_id__in=[busy.thread_id, live.thread_id, never.thread_id]).count() == 3
    assert threads_sweep_expired(batch=2) == 0


def test_sweep_stops_at_its_limit():
    past = timezone.now() - timezone.timedelta(minutes=1)
    for _ in range(3):
        Thread.objects.create(expires_at=past, ttl_minutes=1, ttl_strategy="delete")
    assert threads_sweep_expired(batch=2, limit=2) == 2
    assert threads_sweep_expired(batch=2, limit=2) == 1


def test_sweep_limit_of_langgraph_json_bounds_each_sweep(monkeypatch):
    config = SimpleNamespace(thread_ttl={"strategy": "delete", "sweep_limit": 2})
    monkeypatch.setattr("maintenance.services.get_registry", lambda: SimpleNamespace(config=config))
    past = timezone.now() - timezone.timedelta(minutes=1)
    for _ in range(3):
        Thread.objects.create(expires_at=past, ttl_minutes=1, ttl_strategy="delete")
    assert threads_sweep_expired(batch=1) == 2
    assert threads_sweep_expired(batch=1) == 1
