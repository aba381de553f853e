"""The admin lists store items read-only and deletes them through the store."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from store import selectors, services
from store.models import StoreItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_changelist_shows_items_and_delete_action_removes_them(admin_client):
    ns = ("admin", uuid.uuid4().hex[:12])
    services.store_item_put(namespace=ns, key="note", value={"text": "hello"}, index=False)
    page = admin_client.get("/admin/store/storeitem/", {"q": ns[1]})
    assert page.status_code == 200
    assert b"note" in page.content

    item = StoreItem.objects.get(prefix=".".join(ns), key="note")
    response = admin_client.post(
        "/admin/store/storeitem/", {"action": "delete_selected", "_selected_action": [item.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert selectors.store_item_get(namespace=ns, key="note") is None


def test_items_cannot_be_added_or_edited_in_the_admin(admin_client):
    assert admin_client.get("/admin/store/storeitem/add/").status_code == 403
