"""The admin lists crons, pauses them, and reschedules through the same service as PATCH."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client

from crons import services
from runs.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def cron():
    body = {"assistant_id": "echo", "schedule": "0 9 * * *"}
    return services.cron_create(body=body, assistant_id="echo", schedule="0 9 * * *")


def test_changelist_and_pause_action(admin_client, cron):
    assert admin_client.get("/admin/crons/cron/").status_code == 200
    response = admin_client.post("/admin/crons/cron/", {"action": "pause", "_selected_action": [str(cron.pk)]})
    assert response.status_code == 302
    cron.refresh_from_db()
    assert cron.enabled is False


def test_editing_the_schedule_recomputes_the_next_run(admin_client, cron):
    url = f"/admin/crons/cron/{cron.pk}/change/"
    assert admin_client.get(url).status_code == 200
    form = {"schedule": "30 6 * * *", "timezone": "", "end_time_0": "", "end_time_1": "", "enabled": "on"}
    form |= {"on_run_completed": "delete", "metadata": "{}"}
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    cron.refresh_from_db()
    assert cron.schedule == "30 6 * * *"
    assert (cron.next_run_date.hour, cron.next_run_date.minute) == (6, 30)
    assert cron.payload["schedule"] == "30 6 * * *"


def test_pause_and_resume_go_through_the_service_and_are_logged(admin_client, cron):
    admin_client.post("/admin/crons/cron/", {"action": "pause", "_selected_action": [str(cron.pk)]})
    cron.refresh_from_db()
    assert (cron.enabled, cron.payload["enabled"]) == (False, False)
    admin_client.post("/admin/crons/cron/", {"action": "resume", "_selected_action": [str(cron.pk)]})
    cron.refresh_from_db()
    assert cron.enabled is True
    messages = list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True))
    assert messages == ["Paused.", "Resumed."]


def test_run_now_creates_a_run_and_keeps_the_schedule(admin_client, cron, monkeypatch):
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: None)
    next_run = cron.next_run_date
    response = admin_client.post(f"/admin/crons/cron/{cron.pk}/run_now/")
    run = Run.objects.get()
    assert response.url == f"/admin/runs/run/{run.run_id}/change/"
    assert run.kwargs["config"]["configurable"]["cron_id"] == str(cron.pk)
    cron.refresh_from_db()
    assert cron.next_run_date == next_run
    assert LogEntry.objects.get().change_message == f"Ran now: run {run.run_id}."


def test_change_page_lists_the_next_firings(admin_client, cron):
    page = admin_client.get(f"/admin/crons/cron/{cron.pk}/change/").content.decode()
    assert page.count("T09:00:00+00:00</li>") == 5
