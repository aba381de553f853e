"""The admin's thread page: the conversation, the checkpoint timeline (paged), resuming an interrupt, forking and
updating the state, through the services the API uses and recorded in Django's admin log."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client

from runs.models import Run
from threads.models import Thread
from threads.services import thread_state_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture(autouse=True)
def no_doorbell(monkeypatch):
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: None)


def chat_thread(turns: int = 1) -> Thread:
    thread = Thread.objects.create(metadata={"graph_id": "echo"})
    for index in range(turns):
        message = {"role": "user", "content": f"question {index}"}
        thread_state_update(thread_id=thread.thread_id, values={"messages": [message]}, as_node="echo")
    thread_state_update(
        thread_id=thread.thread_id,
        values={"messages": [{"type": "ai", "content": "", "tool_calls": [{"name": "calc", "args": {}, "id": "c1"}]}]},
        as_node="echo",
    )
    thread_state_update(
        thread_id=thread.thread_id,
        values={"messages": [{"type": "tool", "content": "<2>", "tool_call_id": "c1", "name": "calc"}]},
        as_node="echo",
    )
    thread.refresh_from_db()
    return thread


def page(client: Client, thread: Thread, **query) -> str:
    response = client.get(f"/admin/threads/thread/{thread.thread_id}/change/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_conversation_shows_each_turn_with_tool_calls_escaped(admin_client):
    html = page(admin_client, chat_thread())
    assert 'data-role="human"' in html and "question 0" in html
    assert 'data-role="ai"' in html and "calls <strong>calc</strong>" in html
    assert 'data-role="tool"' in html and "&lt;2&gt;" in html and "<2>" not in html


def test_checkpoints_page_newest_first_and_back(admin_client):
    thread = chat_thread(turns=12)
    first = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/").context["history"]
    assert len(first["states"]) == 10 and first["newer"] is None
    steps = [state["metadata"]["step"] for state in first["states"]]
    assert steps == sorted(steps, reverse=True)

    second = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/", first["older"]).context["history"]
    assert second["number"] == 2
    assert second["states"][0]["metadata"]["step"] == steps[-1] - 1
    back = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/", second["newer"]).context["history"]
    assert [state["checkpoint_id"] for state in back["states"]] == [s["checkpoint_id"] for s in first["states"]]


def test_resume_starts_a_run_with_the_command_and_follows_it(admin_client):
    thread = Thread.objects.create(
        metadata={"graph_id": "interrupt"},
        status="interrupted",
        interrupts={"task": [{"id": "i-1", "value": {"question": "approve?"}}]},
    )
    assert "approve?" in page(admin_client, thread)

    response = admin_client.post(f"/admin/threads/thread/{thread.thread_id}/resume/", {"resume": '"yes"'})

    run = Run.objects.get(thread=thread)
    assert response.url == f"/admin/runs/run/{run.run_id}/change/"
    assert (run.status, run.kwargs["command"]) == ("pending", {"resume": "yes"})
    assert LogEntry.objects.filter(object_id=str(thread.thread_id), change_message__startswith="Resumed").exists()


def test_resume_with_invalid_json_says_so_and_starts_nothing(admin_client):
    thread = Thread.objects.create(metadata={"graph_id": "interrupt"}, status="interrupted")
    response = admin_client.post(f"/admin/threads/thread/{thread.thread_id}/resume/", {"resume": "yes"}, follow=True)
    assert b"The resume value is not valid JSON" in response.content
    assert not Run.objects.exists() and not LogEntry.objects.exists()


def test_fork_starts_a_run_from_the_chosen_checkpoint(admin_client):
    thread = chat_thread()
    checkpoint_id = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/").context["history"]["states"][
        -1
    ]["checkpoint_id"]

    form = {"checkpoint_id": checkpoint_id, "input": '{"value": "branch"}'}
    admin_client.post(f"/admin/threads/thread/{thread.thread_id}/fork/", form)

    run = Run.objects.get(thread=thread)
    assert run.kwargs["config"]["configurable"]["checkpoint_id"] == checkpoint_id
    assert run.kwargs["input"] == {"value": "branch"}


def test_update_state_as_a_node_writes_a_checkpoint(admin_client):
    thread = chat_thread()
    latest = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/").context["history"]["states"][0]
    form = {"checkpoint_id": latest["checkpoint_id"], "values": '{"value": "edited"}', "as_node": "echo"}

    response = admin_client.post(f"/admin/threads/thread/{thread.thread_id}/state/", form, follow=True)

    assert b"State updated" in response.content
    thread.refresh_from_db()
    assert thread.values["value"] == "edited"
    assert LogEntry.objects.filter(object_id=str(thread.thread_id), change_message__startswith="State updated").exists()


def test_operations_need_permission_to_start_runs(admin_client):
    thread = Thread.objects.create(metadata={"graph_id": "interrupt"}, status="interrupted")
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_thread", "change_thread"]))
    clerk = Client()
    clerk.force_login(user)
    assert clerk.post(f"/admin/threads/thread/{thread.thread_id}/resume/", {"resume": '"yes"'}).status_code == 403
    assert not Run.objects.exists()


def test_runs_inline_lists_the_latest_runs_of_the_thread(admin_client):
    thread = chat_thread()
    Run.objects.bulk_create([Run(thread=thread, assistant_id=thread.thread_id, status="success") for _ in range(25)])
    html = page(admin_client, thread)
    assert html.count('<tr class="form-row') == 20
