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


def test_namespace_tree_lists_children_and_items_under_a_namespace(admin_client):
    root = uuid.uuid4().hex[:12]
    services.store_item_put(namespace=(root, "users", "ann"), key="pref", value={"kind": "note", "x": 1}, index=False)
    services.store_item_put(namespace=(root, "users", "bob"), key="pref", value={"kind": "todo"}, index=False)
    services.store_item_put(namespace=(root, "docs"), key="readme", value={"kind": "note"}, index=False)

    top = admin_client.get("/admin/store/storeitem/tree/", {"namespace": root}).context
    assert top["children"] == [f"{root}.docs", f"{root}.users"]
    assert {item["key"] for item in top["items"]} == {"pref", "readme"}

    users = admin_client.get(
        "/admin/store/storeitem/tree/", {"namespace": f"{root}.users", "filter": '{"kind": "note"}'}
    )
    assert users.context["children"] == [f"{root}.users.ann", f"{root}.users.bob"]
    assert [item["namespace"] for item in users.context["items"]] == [f"{root}.users.ann"]
    assert admin_client.get(users.context["items"][0]["url"]).status_code == 200


def test_namespace_tree_reports_a_bad_filter(admin_client):
    page = admin_client.get("/admin/store/storeitem/tree/", {"filter": "{nope"})
    assert page.status_code == 200 and "The filter is not valid JSON" in page.context["error"]
