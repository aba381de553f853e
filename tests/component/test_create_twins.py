"""The async twins of the create views (agentplatform.edge.drf_twin) answer as the DRF views they stand in for,
byte for byte: the same status, body, `Allow` and `Content-Type`, for answers and errors alike.

Each request goes once through the URLconf (the twin) and once straight to the DRF view.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client, RequestFactory

from access.users import ANONYMOUS
from runs.api.views import StatelessRunsView, ThreadRunsView
from threads.models import Thread
from threads.views import ThreadCreateView

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_doorbell(monkeypatch):
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: None)


def _drf(view, method: str, path: str, body: object, **kwargs):
    request = RequestFactory().generic(method, path, data=json.dumps(body), content_type="application/json")
    request.identity = ANONYMOUS
    response = view.as_view()(request, **kwargs)
    response.render()
    return response


def _twin(method: str, path: str, body: object):
    return Client().generic(method, path, data=json.dumps(body), content_type="application/json")


def _same(twin, drf) -> None:
    assert twin.status_code == drf.status_code
    assert twin.content == drf.content
    assert twin.get("Allow") == drf.get("Allow")
    assert twin["Content-Type"] == drf["Content-Type"]


THREAD_CASES = [
    ("POST", {"metadata": "not an object"}),
    ("POST", {"if_exists": "sometimes"}),
    ("POST", {"thread_id": "not-a-uuid"}),
    ("POST", {"thread_id": 3}),
    ("POST", {"ttl": {"ttl": -1}}),
    ("POST", {"supersteps": "x"}),
    ("POST", []),
    ("PUT", {}),
    ("GET", {}),
    ("DELETE", {}),
]


@pytest.mark.parametrize(("method", "body"), THREAD_CASES)
def test_thread_create_errors_read_as_the_drf_view(method, body):
    twin, drf = _twin(method, "/threads", body), _drf(ThreadCreateView, method, "/threads", body)
    assert twin.status_code >= 400
    _same(twin, drf)


def test_an_existing_thread_reads_the_same_with_do_nothing_and_conflicts_the_same_without():
    thread_id = str(Thread.objects.create(metadata={"a": 1}).thread_id)
    for body in ({"thread_id": thread_id, "if_exists": "do_nothing"}, {"thread_id": thread_id}):
        twin, drf = _twin("POST", "/threads", body), _drf(ThreadCreateView, "POST", "/threads", body)
        _same(twin, drf)
    assert twin.status_code == 409


def test_a_created_thread_reads_as_the_drf_view_would_render_it():
    thread_id = str(uuid.uuid4())
    twin = _twin("POST", "/threads", {"thread_id": thread_id, "metadata": {"k": "v"}})
    again = _drf(ThreadCreateView, "POST", "/threads", {"thread_id": thread_id, "if_exists": "do_nothing"})
    _same(twin, again)
    assert twin.json()["metadata"] == {"k": "v"}


RUN_CASES = [
    ("POST", {}),
    ("POST", {"assistant_id": "no-such-graph"}),
    ("POST", {"assistant_id": "echo", "multitask_strategy": "sometimes"}),
    ("POST", {"assistant_id": "echo", "stream_mode": 3}),
    ("POST", []),
    ("PUT", {"assistant_id": "echo"}),
]


@pytest.mark.parametrize(("method", "body"), RUN_CASES)
def test_run_create_errors_read_as_the_drf_views(method, body):
    thread_id = str(Thread.objects.create().thread_id)
    path = f"/threads/{thread_id}/runs"
    _same(_twin(method, path, body), _drf(ThreadRunsView, method, path, body, thread_id=thread_id))
    twin, drf = _twin(method, "/runs", body), _drf(StatelessRunsView, method, "/runs", body)
    if twin.status_code == 200:  # a stateless run ignores multitask_strategy, as officially: a new run each
        assert drf.status_code == 200 and twin.json().keys() == json.loads(drf.content).keys()
        assert twin["Content-Location"].startswith("/runs/") and drf["Content-Location"].startswith("/runs/")
    else:
        _same(twin, drf)


def test_a_run_on_a_missing_thread_reads_as_the_drf_view():
    path = f"/threads/{uuid.uuid4()}/runs"
    body = {"assistant_id": "echo"}
    twin = _twin("POST", path, body)
    assert twin.status_code == 404
    _same(twin, _drf(ThreadRunsView, "POST", path, body, thread_id=path.split("/")[2]))
