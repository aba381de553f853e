import json

import pytest
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
