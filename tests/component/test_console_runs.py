"""The admin's dashboard and run page: figures from the database, the run's event log, cancel and retry through
the run services, each operation in Django's admin log and refused without the permission."""

from __future__ import annotations

import datetime
import uuid

import orjson
import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from agentplatform import stream_log
from agentplatform.redis_clients import sync_redis
from runs.models import Run
from runs.services import run_create
from threads.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture(autouse=True)
def doorbells(monkeypatch) -> list[str]:
    rung: list[str] = []
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: rung.append(str(run_id)))
    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)
    return rung


def make_run(thread: Thread | None = None, **fields) -> Run:
    thread = thread or Thread.objects.create(metadata={"graph_id": "echo"})
    kwargs = {"input": {"value": "<b>hi</b>"}, "config": {"configurable": {"graph_id": "echo"}}, "context": {}}
    return Run.objects.create(thread=thread, assistant_id=uuid.uuid4(), kwargs=kwargs, **fields)


def test_dashboard_counts_runs_by_status_and_the_queue(admin_client):
    now = timezone.now()
    make_run(status="success")
    make_run(status="error", error={"error": "ValueError", "message": "kaboom"}, ended_at=now)
    make_run(status="success", created_at=now - datetime.timedelta(hours=3))
    make_run(status="pending", available_at=now - datetime.timedelta(minutes=5))
    make_run(status="pending", available_at=now + datetime.timedelta(minutes=5))

    page = admin_client.get("/admin/")

    assert page.status_code == 200
    runs = page.context["runs"]
    hour, day = (dict((c["status"], c["count"]) for c in row["cells"]) for row in runs["status_rows"])
    assert (hour["success"], hour["error"], hour["pending"]) == (1, 1, 2)
    assert day["success"] == 2
    assert (runs["queue"].pending, runs["queue"].ready) == (3 - 1, 1)
    assert 299 <= runs["oldest_pending_age"].total_seconds() <= 330
    assert b"kaboom" in page.content
    assert b"/admin/access/apikey/" in page.content


def test_dashboard_lists_workers_from_their_leases(admin_client):
    soon = timezone.now() + datetime.timedelta(seconds=60)
    make_run(status="running", lease_owner="host-a:41:7", lease_expires_at=soon)
    make_run(status="running", lease_owner="host-a:41:8", lease_expires_at=soon)
    make_run(status="running", lease_owner="host-b:9:1", lease_expires_at=timezone.now() - datetime.timedelta(1))

    workers = {w.name: w for w in admin_client.get("/admin/").context["runs"]["workers"]}

    assert set(workers) == {"host-a:41", "host-b:9"}
    assert (len(workers["host-a:41"].runs), workers["host-a:41"].alive) == (2, True)
    assert workers["host-b:9"].alive is False


def test_dashboard_hides_what_the_staff_member_may_not_view(admin_client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer = Client()
    viewer.force_login(user)
    assert "runs" not in viewer.get("/admin/").context
    user.user_permissions.add(Permission.objects.get(codename="view_run"))
    assert "runs" in viewer.get("/admin/").context


def test_run_page_shows_input_pretty_and_escaped(admin_client):
    run = make_run(status="error", error={"error": "ValueError", "message": "kaboom"})
    page = admin_client.get(f"/admin/runs/run/{run.run_id}/change/").content.decode()
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "&quot;message&quot;: &quot;kaboom&quot;" in page
    assert f"/admin/threads/thread/{run.thread_id}/change/" in page
    assert 'id="retry"' in page and 'id="cancel-interrupt"' not in page


def test_run_events_replay_the_log_then_follow_it(admin_client):
    run = make_run(status="running")
    key = stream_log.run_stream_key(run.run_id)
    sync_redis().xadd(key, {"event": "metadata", "data": orjson.dumps({"run_id": str(run.run_id)})})
    first = sync_redis().xadd(key, {"event": "values", "data": b'{"value":"x"}'}).decode()
    url = f"/admin/runs/run/{run.run_id}/events/"

    replay = admin_client.get(url).json()
    assert [e["event"] for e in replay["events"]] == ["metadata", "values"]
    assert (replay["cursor"], replay["finished"], replay["status"]) == (first, False, "running")

    sync_redis().xadd(key, {"event": stream_log.DONE_EVENT, "data": stream_log.done_data("success", {})})
    tail = admin_client.get(url, {"after": first}).json()
    assert (tail["events"], tail["finished"]) == ([], True)


def test_events_of_a_finished_run_whose_log_expired_are_finished(admin_client):
    run = make_run(status="success")
    body = admin_client.get(f"/admin/runs/run/{run.run_id}/events/").json()
    assert (body["events"], body["finished"]) == ([], True)


def test_cancel_interrupts_a_pending_run_and_is_logged(admin_client):
    run = make_run(status="pending")
    response = admin_client.post(f"/admin/runs/run/{run.run_id}/cancel/", {"action": "interrupt"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.cancel_action) == ("interrupted", "interrupt")
    entry = LogEntry.objects.get(object_id=str(run.run_id))
    assert (entry.action_flag, entry.change_message) == (CHANGE, "Cancelled (interrupt).")


def test_cancel_asks_the_worker_to_roll_back_a_running_run(admin_client):
    run = make_run(status="running")
    admin_client.post(f"/admin/runs/run/{run.run_id}/cancel/", {"action": "rollback"})
    run.refresh_from_db()
    assert (run.status, run.cancel_action) == ("running", "rollback")


def test_cancel_of_a_finished_run_says_why(admin_client):
    run = make_run(status="success")
    response = admin_client.post(f"/admin/runs/run/{run.run_id}/cancel/", follow=True)
    assert b"No matching runs to cancel" in response.content
    assert not LogEntry.objects.exists()


def test_cancel_is_post_only_and_needs_the_change_permission(admin_client):
    run = make_run(status="pending")
    assert admin_client.get(f"/admin/runs/run/{run.run_id}/cancel/").status_code == 405
    viewer = Client()
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_run"))
    viewer.force_login(user)
    assert viewer.post(f"/admin/runs/run/{run.run_id}/cancel/").status_code == 403
    assert Run.objects.get(pk=run.pk).status == "pending"


def test_retry_creates_the_same_run_again_through_run_create(
    admin_client, doorbells, django_capture_on_commit_callbacks
):
    thread = Thread.objects.create(metadata={"graph_id": "echo"})
    failed = run_create(thread_id=thread.thread_id, payload={"assistant_id": "echo", "input": {"value": "again"}})
    Run.objects.filter(pk=failed.pk).update(status="error", error={"message": "kaboom"})
    Thread.objects.filter(pk=thread.pk).update(status="error")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/runs/run/{failed.run_id}/retry/")

    retried = Run.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302 and response.url.endswith(f"/admin/runs/run/{retried.run_id}/change/")
    assert (retried.thread_id, retried.assistant_id) == (thread.thread_id, failed.assistant_id)
    assert retried.status == "pending"
    assert retried.kwargs["input"] == {"value": "again"}
    assert retried.kwargs["config"]["configurable"]["run_id"] == str(retried.run_id)
    assert doorbells[-1] == str(retried.run_id)
    flags = set(LogEntry.objects.values_list("object_id", "action_flag"))
    assert flags == {(str(failed.run_id), CHANGE), (str(retried.run_id), ADDITION)}


def test_run_list_finds_a_run_by_its_whole_id_or_a_fragment(admin_client):
    run, other = make_run(status="success"), make_run(status="success")
    for term in (str(run.run_id), str(run.run_id)[-12:]):
        page = admin_client.get("/admin/runs/run/", {"q": term}).content.decode()
        assert str(run.run_id) in page and str(other.run_id) not in page


def test_dashboard_figures_open_the_runs_they_count(admin_client):
    make_run(status="error", error={"message": "kaboom"})
    make_run(status="error", created_at=timezone.now() - datetime.timedelta(days=2))
    make_run(status="success")
    hour = admin_client.get("/admin/").context["runs"]["status_rows"][0]
    url = next(cell["url"] for cell in hour["cells"] if cell["status"] == "error")

    listed = admin_client.get(url)

    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
