"""The crons API in process (Django test client); expected shapes and codes from the official server."""

import datetime
import uuid

import pytest
from django.test import Client

from assistants.models import system_assistant_id
from threads.models import Thread

pytestmark = pytest.mark.django_db

CRON_FIELDS = {
    "cron_id",
    "assistant_id",
    "thread_id",
    "user_id",
    "schedule",
    "timezone",
    "end_time",
    "payload",
    "next_run_date",
    "metadata",
    "on_run_completed",
    "enabled",
    "created_at",
    "updated_at",
}


@pytest.fixture
def api():
    return Client()


def post(api, path, body):
    return api.post(path, body, content_type="application/json")


def create(api, **body):
    return post(api, "/runs/crons", {"assistant_id": "echo", "schedule": "*/5 * * * *", **body})


def test_stateless_cron_has_the_official_shape(api):
    response = create(api, input={"value": "hi"}, metadata={"team": "a"})
    assert response.status_code == 200
    cron = response.json()
    assert set(cron) == CRON_FIELDS
    assert cron["assistant_id"] == str(system_assistant_id("echo"))
    assert cron["thread_id"] is None and cron["user_id"] == ""  # as officially, not null
    assert cron["on_run_completed"] == "delete" and cron["enabled"] is True
    assert cron["metadata"] == {"team": "a"}
    assert cron["payload"]["input"] == {"value": "hi"}
    assert cron["payload"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
    assert cron["created_at"].endswith("+00:00")
    next_run = datetime.datetime.fromisoformat(cron["next_run_date"])
    assert next_run > datetime.datetime.now(datetime.UTC) and next_run.minute % 5 == 0


def test_thread_cron_binds_the_thread_and_has_no_on_run_completed(api):
    thread = Thread.objects.create()
    response = post(api, f"/threads/{thread.thread_id}/runs/crons", {"assistant_id": "echo", "schedule": "0 * * * *"})
    assert response.status_code == 200
    assert response.json()["thread_id"] == str(thread.thread_id)
    assert response.json()["on_run_completed"] is None


@pytest.mark.parametrize("schedule", ["every day", "61 * * * *", ""])
def test_bad_schedule_is_422(api, schedule):
    response = create(api, schedule=schedule)
    assert response.status_code == 422


def test_missing_schedule_is_422_not_500(api):
    response = post(api, "/runs/crons", {"assistant_id": "echo"})
    assert response.status_code == 422
    assert "schedule" in response.json()["detail"]


def test_bad_timezone_is_422_and_good_one_is_kept(api):
    assert create(api, timezone="Nowhere/Land").status_code == 422
    assert create(api, timezone="Europe/Paris").json()["timezone"] == "Europe/Paris"


def test_unknown_assistant_or_graph_is_404(api):
    assert create(api, assistant_id=str(uuid.uuid4())).status_code == 404
    assert create(api, assistant_id="no-such-graph").status_code == 404


def test_unknown_thread_is_404_and_malformed_thread_id_is_422(api):
    body = {"assistant_id": "echo", "schedule": "* * * * *"}
    assert post(api, f"/threads/{uuid.uuid4()}/runs/crons", body).status_code == 404
    assert post(api, "/threads/nope/runs/crons", body).status_code == 422


def test_run_payload_errors_are_refused_at_creation(api):
    assert create(api, stream_mode="nonsense").status_code == 422
    assert create(api, on_run_completed="forget").status_code == 422
    blocked = create(api, webhook="http://127.0.0.1:9/hook")
    assert blocked.status_code == 422
    assert "Webhook host blocked" in blocked.json()["detail"]


def test_get_and_delete(api):
    cron_id = create(api).json()["cron_id"]
    assert api.get(f"/runs/crons/{cron_id}").json()["cron_id"] == cron_id
    assert api.delete(f"/runs/crons/{cron_id}").status_code == 204
    assert api.get(f"/runs/crons/{cron_id}").status_code == 404
    assert api.delete(f"/runs/crons/{cron_id}").status_code == 404
    assert api.get("/runs/crons/not-a-uuid").status_code == 422


def test_patch_reschedules_merges_metadata_and_clears_end_time(api):
    end = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)).isoformat()
    cron = create(api, metadata={"a": 1}, end_time=end).json()
    body = {"schedule": "0 0 1 1 *", "metadata": {"b": 2}, "end_time": None, "enabled": False}
    response = api.patch(f"/runs/crons/{cron['cron_id']}", body, content_type="application/json")
    assert response.status_code == 200
    patched = response.json()
    assert patched["schedule"] == "0 0 1 1 *" and patched["enabled"] is False
    assert patched["metadata"] == {"a": 1, "b": 2}
    assert patched["end_time"] is None
    next_run = datetime.datetime.fromisoformat(patched["next_run_date"])
    assert (next_run.month, next_run.day, next_run.hour, next_run.minute) == (1, 1, 0, 0)
    assert patched["payload"]["config"]["configurable"]["cron_id"] == cron["cron_id"]


def test_patch_with_empty_body_is_400_and_bad_schedule_is_422(api):
    cron_id = create(api).json()["cron_id"]
    assert api.patch(f"/runs/crons/{cron_id}", {}, content_type="application/json").status_code == 400
    bad = api.patch(f"/runs/crons/{cron_id}", {"schedule": "nope"}, content_type="application/json")
    assert bad.status_code == 422
    unknown = uuid.uuid4()
    missing = api.patch(f"/runs/crons/{unknown}", {"enabled": True}, content_type="application/json")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"Cron '{unknown}' not found"}


def test_search_filters_sorts_pages_and_counts(api):
    tag = uuid.uuid4().hex
    ids = [create(api, metadata={"tag": tag, "i": i}).json()["cron_id"] for i in range(3)]
    first = post(api, "/runs/crons/search", {"metadata": {"tag": tag}, "limit": 2})
    assert first.status_code == 200
    assert [c["cron_id"] for c in first.json()] == ids[::-1][:2]
    assert first["X-Pagination-Next"] == "2" and first["X-Pagination-Total"] == "3"
    rest = post(api, "/runs/crons/search", {"metadata": {"tag": tag}, "limit": 2, "offset": 2})
    assert [c["cron_id"] for c in rest.json()] == [ids[0]]
    assert rest["X-Pagination-Total"] == "3" and "X-Pagination-Next" not in rest
    ascending = post(api, "/runs/crons/search", {"metadata": {"tag": tag}, "sort_order": "asc"}).json()
    assert [c["cron_id"] for c in ascending] == ids
    selected = post(api, "/runs/crons/search", {"metadata": {"tag": tag}, "select": ["cron_id", "schedule"]}).json()
    assert all(set(c) == {"cron_id", "schedule"} for c in selected)
    assert post(api, "/runs/crons/count", {"metadata": {"tag": tag}}).json() == 3


def test_search_by_enabled_assistant_and_thread(api):
    thread = Thread.objects.create()
    body = {"assistant_id": "echo", "schedule": "* * * * *", "enabled": False}
    cron_id = post(api, f"/threads/{thread.thread_id}/runs/crons", body).json()["cron_id"]
    found = post(api, "/runs/crons/search", {"thread_id": str(thread.thread_id), "enabled": False}).json()
    assert [c["cron_id"] for c in found] == [cron_id]
    assert post(api, "/runs/crons/search", {"thread_id": str(thread.thread_id), "enabled": True}).json() == []
    by_assistant = {"assistant_id": str(system_assistant_id("echo")), "thread_id": str(thread.thread_id)}
    assert post(api, "/runs/crons/count", by_assistant).json() == 1


def test_search_refuses_graph_name_unknown_sort_and_select(api):
    assert post(api, "/runs/crons/search", {"assistant_id": "echo"}).status_code == 422
    assert post(api, "/runs/crons/search", {"sort_by": "schedule"}).status_code == 422
    assert post(api, "/runs/crons/search", {"select": ["nope"]}).status_code == 422


def test_deleting_the_thread_or_the_assistant_deletes_its_crons(api):
    thread = Thread.objects.create()
    body = {"assistant_id": "echo", "schedule": "* * * * *"}
    on_thread = post(api, f"/threads/{thread.thread_id}/runs/crons", body).json()["cron_id"]
    assert api.delete(f"/threads/{thread.thread_id}").status_code == 204
    assert api.get(f"/runs/crons/{on_thread}").status_code == 404

    assistant = post(api, "/assistants", {"graph_id": "echo"}).json()["assistant_id"]
    stateless = create(api, assistant_id=assistant).json()["cron_id"]
    assert api.delete(f"/assistants/{assistant}").status_code == 204
    assert api.get(f"/runs/crons/{stateless}").status_code == 404
