"""The Django admin lists threads, searches them by id or metadata and shows their values and interrupts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from threads.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_changelist_searches_by_partial_id_and_metadata(admin_client):
    wanted = Thread.objects.create(metadata={"graph_id": "echo", "owner": "zelda"}, status="interrupted")
    other = Thread.objects.create(metadata={"owner": "link"})

    by_meta = admin_client.get("/admin/threads/thread/", {"q": "zelda"})
    by_id = admin_client.get("/admin/threads/thread/", {"q": str(wanted.thread_id)[:13]})

    assert by_meta.status_code == 200
    assert str(wanted.thread_id) in by_meta.content.decode()
    assert str(other.thread_id) not in by_meta.content.decode()
    assert str(wanted.thread_id) in by_id.content.decode()


def test_change_page_shows_values_and_interrupts(admin_client):
    thread = Thread.objects.create(
        metadata={"graph_id": "interrupt"},
        values={"request": "deploy"},
        interrupts={"task-1": [{"id": "i-1", "value": {"question": "approve?"}}]},
    )

    page = admin_client.get(f"/admin/threads/thread/{thread.thread_id}/change/").content.decode()

    assert "deploy" in page
    assert "approve?" in page
