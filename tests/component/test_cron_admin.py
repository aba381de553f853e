"""The admin lists crons, pauses them, and reschedules through the same service as PATCH."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crons import services

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
