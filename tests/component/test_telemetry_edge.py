"""The API edge of telemetry: readiness apart from liveness, and the HTTP figures of /metrics by route."""

from __future__ import annotations

import psycopg
import pytest
import redis
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from agentplatform import system
from agentplatform.embedded import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def redis_down(monkeypatch):
    nowhere = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(system, "sync_redis", lambda: nowhere)


def test_ready_answers_200_when_the_database_and_redis_answer(api):
    response = api.get("/ready")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_ready_answers_503_while_redis_is_unreachable_and_ok_stays_alive(api, redis_down):
    response = api.get("/ready")
    assert (response.status_code, response.json()) == (503, {"ok": False, "detail": "redis unavailable"})
    assert api.get("/ok").status_code == 200  # liveness: restarting the API would not bring Redis back


def test_ready_names_the_database_and_keeps_its_error_to_itself(api, monkeypatch):
    def fail() -> None:
        raise psycopg.OperationalError('password authentication failed for user "secret-admin" at db.internal')

    monkeypatch.setitem(system._DEPENDENCIES, "database", fail)
    response = api.get("/ready")
    assert (response.status_code, response.json()) == (503, {"ok": False, "detail": "database unavailable"})


def _samples(api: Client, name: str) -> dict[tuple, float]:
    text = api.get("/metrics").content.decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_requests_are_counted_by_route_pattern_not_by_path(api):
    route = (("method", "GET"), ("path", "/threads/{thread_id}"), ("status", "404"))
    unmatched = (("method", "GET"), ("path", "unmatched"), ("status", "404"))
    before = _samples(api, "lg_api_http_requests_total")
    for _ in range(3):
        api.get("/threads/00000000-0000-0000-0000-000000000001")
    api.get("/no/such/route")
    api.get("/ok")
    after = _samples(api, "lg_api_http_requests_total")
    assert after.get(route, 0) - before.get(route, 0) == 3
    assert after.get(unmatched, 0) - before.get(unmatched, 0) == 1
    assert not any(dict(labels)["path"] in ("/ok", "/metrics") for labels in after)  # the probes are left out
    latency = _samples(api, "lg_api_http_requests_latency_count")
    assert latency[(("method", "GET"), ("path", "/threads/{thread_id}"))] >= 3


def test_a_request_refused_before_its_view_is_still_counted_by_its_route(api):
    route = (("method", "POST"), ("path", "/threads"), ("status", "415"))
    before = _samples(api, "lg_api_http_requests_total").get(route, 0)
    api.post("/threads", "x", content_type="text/plain")  # refused by StrictInputMiddleware
    assert _samples(api, "lg_api_http_requests_total").get(route, 0) - before == 1
