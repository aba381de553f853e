import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client

from assistants import services
from assistants.models import Assistant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    browser = Client()
    browser.force_login(user)
    return browser


def test_admin_lists_and_searches_assistants(admin_client):
    services.assistant_create(graph_id="echo", name="findable helper")
    services.assistant_create(graph_id="chat", name="other")
    page = admin_client.get("/admin/assistants/assistant/?q=findable")
    assert page.status_code == 200
    assert b"findable helper" in page.content
    assert b"other" not in page.content


def test_admin_edit_saves_a_new_version(admin_client):
    created = services.assistant_create(graph_id="echo", name="before", metadata={"a": 1})
    url = f"/admin/assistants/assistant/{created.assistant_id}/change/"
    assert admin_client.get(url).status_code == 200
    form = {
        "graph_id": "echo",
        "name": "after",
        "description": "",
        "config": json.dumps({"configurable": {"k": "v"}}),
        "context": json.dumps({}),
        "metadata": json.dumps({"a": 2}),
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": str(created.versions.get().pk),
        "versions-0-assistant": str(created.assistant_id),
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    edited = Assistant.objects.get(assistant_id=created.assistant_id)
    assert (edited.name, edited.version, edited.metadata) == ("after", 2, {"a": 2})
    assert edited.context == {"k": "v"}
    assert sorted(edited.versions.values_list("version", flat=True)) == [1, 2]


def test_admin_refuses_unknown_graph(admin_client):
    response = admin_client.post(
        "/admin/assistants/assistant/add/",
        {
            "graph_id": "nope",
            "name": "x",
            "config": "{}",
            "context": "{}",
            "metadata": "{}",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert b"Unknown graph" in response.content
    assert not Assistant.objects.filter(name="x").exists()


def test_change_page_draws_the_graph_and_shows_its_schemas(admin_client):
    assistant = services.assistant_create(graph_id="sleepy", name="drawn")
    page = admin_client.get(f"/admin/assistants/assistant/{assistant.assistant_id}/change/").content.decode()
    assert "<svg" in page and 'data-node="sleep"' in page and 'data-edge="sleep->sleep"' in page
    assert "input_schema" in page and "state_schema" in page


def test_versions_page_diffs_two_versions_and_sets_the_latest(admin_client):
    assistant = services.assistant_create(graph_id="echo", name="first", metadata={"team": "a"})
    services.assistant_update(assistant_id=assistant.assistant_id, name="second", metadata={"team": "b"})
    url = f"/admin/assistants/assistant/{assistant.assistant_id}/versions/"

    diff = admin_client.get(url).context["diff"]
    assert ("del", '-name: "first"') in diff and ("add", '+name: "second"') in diff
    assert ("add", '+    "team": "b"') in diff

    response = admin_client.post(f"/admin/assistants/assistant/{assistant.assistant_id}/set_latest/", {"version": 1})
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.version, assistant.name) == (1, "first")
    entry = LogEntry.objects.get(object_id=str(assistant.assistant_id))
    assert entry.change_message == "Version 1 is now the latest."


def test_set_latest_of_a_missing_version_says_so(admin_client):
    assistant = services.assistant_create(graph_id="echo")
    url = f"/admin/assistants/assistant/{assistant.assistant_id}/set_latest/"
    response = admin_client.post(url, {"version": 7}, follow=True)
    assert b"Version 7 not found" in response.content
