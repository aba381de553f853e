"""Request bodies answered with the status the official server gives them (langgraph-api 0.16.7, recorded with
`langgraph dev`): 422 where its JSON schemas refuse a type, an enum value, a missing field or a null; 200 where
the body does not document the field, which is then not validated."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)
RUN = {"assistant_id": "echo"}
CRON = {"assistant_id": "echo", "schedule": "0 0 1 1 *"}
# (method, path, body, the official status); {thread} is a thread of the test.
RECORDED = [
    ("POST", "/assistants", {"graph_id": "echo", "metadata": None}, 422),
    ("POST", "/assistants", {"graph_id": "echo", "name": None}, 422),
    ("POST", "/assistants", {"graph_id": "echo", "config": None}, 422),
    ("POST", "/assistants", {"graph_id": "echo", "if_exists": "bogus"}, 422),
    ("POST", "/assistants", {"graph_id": 3}, 422),
    ("POST", "/assistants/search", {"sort_by": None}, 422),
    ("POST", "/threads", {"metadata": None}, 422),
    ("POST", "/threads", {"if_exists": "x"}, 422),
    ("POST", "/threads/search", {"limit": None}, 422),
    ("POST", "/threads/search", {"status": "nope"}, 422),
    ("POST", "/threads/search", {"select": ["bogus"]}, 422),
    ("POST", "/threads/{thread}/history", {"before": "1f1edc59-c94c-6d8f-8000-8972422aeefe"}, 422),
    ("POST", "/threads/prune", {"thread_ids": [], "strategy": "bogus"}, 422),
    ("POST", "/runs", {**RUN, "metadata": None}, 422),
    ("POST", "/runs", {**RUN, "config": None}, 422),
    ("POST", "/runs", {**RUN, "stream_mode": "bogus"}, 422),
    ("POST", "/runs", {**RUN, "webhook": 3}, 422),
    ("POST", "/runs", {**RUN, "after_seconds": "x"}, 422),
    ("POST", "/runs", {**RUN, "feedback_keys": [1]}, 422),
    ("POST", "/runs", {**RUN, "durability": "bogus"}, 422),
    ("POST", "/runs", {**RUN, "on_completion": "bogus"}, 422),
    ("POST", "/runs", {**RUN, "stream_subgraphs": "x"}, 422),
    ("POST", "/runs", {"input": {}}, 422),
    ("POST", "/runs", {**RUN, "multitask_strategy": "bogus"}, 200),
    ("POST", "/runs", {**RUN, "if_not_exists": "bogus"}, 200),
    ("POST", "/runs", {**RUN, "input": None}, 200),
    ("POST", "/runs/wait", {**RUN, "on_completion": None}, 422),
    ("POST", "/threads/{thread}/runs", {**RUN, "multitask_strategy": "bogus"}, 422),
    ("POST", "/threads/{thread}/runs", {**RUN, "if_not_exists": "bogus"}, 422),
    ("POST", "/threads/{thread}/runs", {**RUN, "multitask_strategy": None}, 422),
    ("POST", "/threads/{thread}/runs", {**RUN, "checkpoint_id": None}, 200),
    ("POST", "/threads/{thread}/runs", {**RUN, "on_disconnect": "bogus"}, 200),
    ("POST", "/threads/{thread}/runs/wait", {**RUN, "on_disconnect": "bogus"}, 422),
    ("POST", "/runs/crons", {**CRON, "metadata": None}, 422),
    ("POST", "/runs/crons", {**CRON, "enabled": None}, 422),
    ("POST", "/runs/crons", {**CRON, "stream_mode": "bogus"}, 422),
    ("POST", "/store/namespaces", {"max_depth": None}, 422),
    ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": 3}, 422),
    ("POST", "/runs/cancel", {"status": "bogus"}, 422),
]


@pytest.fixture(autouse=True)
def no_doorbell(monkeypatch):
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: None)


@pytest.mark.parametrize(("method", "path", "body", "status"), RECORDED)
def test_status_is_the_official_one(method, path, body, status):
    thread = Thread.objects.create(metadata={})
    response = Client().generic(
        method, path.format(thread=thread.thread_id), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == status, response.content
