"""The runs' figures of /metrics, read from Postgres at scrape time (runs/metrics.py): counters that only grow,
latency histograms, leases per worker, the sweeper's counts from Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agentplatform.redis_clients import sync_redis
from assistants.models import Assistant
from runs import metrics
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assistant():
    return Assistant.objects.create(graph_id="echo", name="metrics test", config={}, metadata={})


@pytest.fixture(autouse=True)
def no_sweeper_counts():
    sync_redis().delete(metrics.SWEEPER_KEY)
    yield
    sync_redis().delete(metrics.SWEEPER_KEY)


def scrape(collector: metrics.RunsCollector) -> dict[tuple, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def ended_run(assistant, *, status: str, ended_ago: float, ran: float, waited: float, attempt: int = 1) -> Run:
    ended = timezone.now() - timedelta(seconds=ended_ago)
    started = ended - timedelta(seconds=ran)
    return Run.objects.create(
        thread=Thread.objects.create(),
        assistant_id=assistant.assistant_id,
        status=status,
        attempt=attempt,
        created_at=started - timedelta(seconds=waited),
        started_at=started,
        ended_at=ended,
    )


def test_finished_runs_are_counted_by_graph_and_status_with_their_latencies(assistant):
    ended_run(assistant, status="success", ended_ago=3600, ran=0.05, waited=0.2)  # settled long ago
    ended_run(assistant, status="success", ended_ago=1, ran=2.0, waited=0.05)  # still settling
    ended_run(assistant, status="error", ended_ago=5, ran=0.5, waited=0.0, attempt=3)
    found = scrape(metrics.RunsCollector())
    success = {"graph_id": "echo", "status": "success"}
    assert value(found, "agentplatform_runs_finished_total", **success) == 2
    assert value(found, "agentplatform_runs_finished_total", graph_id="echo", status="error") == 1
    assert value(found, "agentplatform_run_retries_total", graph_id="echo", status="error") == 2
    assert value(found, "agentplatform_runs_created_total", graph_id="echo") == 3
    # Milliseconds, in the official buckets: 50 ms and 2 s.
    assert value(found, "lg_api_run_execution_latency_bucket", **success, le="100.0") == 1
    assert value(found, "lg_api_run_execution_latency_bucket", **success, le="1000.0") == 1
    assert value(found, "lg_api_run_execution_latency_bucket", **success, le="5000.0") == 2
    assert value(found, "lg_api_run_execution_latency_count", **success) == 2
    assert value(found, "lg_api_run_execution_latency_sum", **success) == pytest.approx(2050, abs=1)
    assert value(found, "lg_api_run_queue_wait_time_1st_attempt_bucket", **success, le="100.0") == 1
    assert value(found, "lg_api_run_queue_wait_time_1st_attempt_bucket", **success, le="500.0") == 2


def test_counters_only_grow_and_count_each_ending_once_across_scrapes(assistant):
    collector = metrics.RunsCollector()
    old = ended_run(assistant, status="success", ended_ago=3600, ran=1, waited=1)
    assert value(scrape(collector), "agentplatform_runs_finished_total", graph_id="echo", status="success") == 1
    ended_run(assistant, status="success", ended_ago=2, ran=1, waited=1)
    assert value(scrape(collector), "agentplatform_runs_finished_total", graph_id="echo", status="success") == 2
    assert value(scrape(collector), "agentplatform_runs_finished_total", graph_id="echo", status="success") == 2
    old.delete()  # e.g. its thread expired: counted still, a counter never goes down
    assert value(scrape(collector), "agentplatform_runs_finished_total", graph_id="echo", status="success") == 2


def test_in_flight_runs_show_as_pending_running_and_leases_per_worker(assistant):
    now = timezone.now()
    for owner in ("host-a:10:1", "host-a:10:2", "host-b:20:1"):
        Run.objects.create(
            thread=Thread.objects.create(),
            assistant_id=assistant.assistant_id,
            status="running",
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=60),
        )
    Run.objects.create(
        thread=Thread.objects.create(), assistant_id=assistant.assistant_id, created_at=now - timedelta(seconds=30)
    )
    found = scrape(metrics.RunsCollector())
    assert value(found, "lg_api_num_running_runs") == 3
    assert value(found, "lg_api_num_pending_runs") == 1
    assert value(found, "lg_api_pending_runs_wait_time_max") == pytest.approx(30, abs=5)
    assert value(found, "agentplatform_worker_leases", worker="host-a:10") == 2
    assert value(found, "agentplatform_worker_leases", worker="host-b:20") == 1
    assert value(found, "agentplatform_runs_created_total", graph_id="echo") == 4


def test_sweeper_recoveries_add_up_across_sweeps():
    metrics.run_sweep_counts_add({"requeued": 2, "due": 5, "resent": 0})
    metrics.run_sweep_counts_add({"requeued": 1, "resent": 3})
    found = scrape(metrics.RunsCollector())
    assert value(found, "agentplatform_sweeper_requeued_total") == 3
    assert value(found, "agentplatform_sweeper_resent_total") == 3
