"""The Django admin for runs: listed with their status and attempt, cancellable with the admin action."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client():
    # Not the `client` fixture: in this project that is the langgraph_sdk client of the integration stack.
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture(autouse=True)
def quiet_stream_log(monkeypatch):
    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)


def test_run_list_shows_status_and_error(admin_client):
    thread = Thread.objects.create()
    Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), status="error", error={"message": "kaboom"})
    page = admin_client.get("/admin/runs/run/")
    assert page.status_code == 200
    assert b"kaboom" in page.content


def test_cancel_action_interrupts_pending_runs(admin_client):
    thread = Thread.objects.create(status="busy")
    run = Run.objects.create(thread=thread, assistant_id=uuid.uuid4())
    response = admin_client.post(
        "/admin/runs/run/", {"action": "cancel_runs", "_selected_action": [str(run.run_id)]}, follow=True
    )
    assert response.status_code == 200
    assert Run.objects.get(run_id=run.run_id).status == "interrupted"
