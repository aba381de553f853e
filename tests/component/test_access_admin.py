"""API keys through the Django admin's own views (staff login): create shows the key once, revoke, last use."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access import selectors, services
from access.models import ApiKey

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/access/apikey/add/"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _create(admin_client, **form) -> tuple[ApiKey, str, str]:
    """Post the add form and follow the redirect: the page it lands on is where the key is shown, once."""
    data = {"label": "nightly import", "owner": "importer", "permissions": '["threads:write"]'} | form
    response = admin_client.post(ADD_URL, data, follow=True)
    assert response.redirect_chain and response.status_code == 200, response.content[:2000]
    page = response.content.decode()
    # The admin's own "was added" message names the key by its prefix only; the full key is the long one.
    [raw_key] = set(re.findall(r"agp_[A-Za-z0-9_\-]{40,}", page))
    return ApiKey.objects.get(label=data["label"]), raw_key, page


def test_add_form_opens_for_staff(admin_client):
    response = admin_client.get(ADD_URL)

    assert response.status_code == 200
    assert b'name="owner"' in response.content and b'name="key_hash"' not in response.content


def test_creating_a_key_shows_it_once_and_stores_only_its_hash(admin_client):
    api_key, raw_key, page = _create(admin_client)

    assert "will not be shown again" in page
    assert (api_key.owner, api_key.permissions, api_key.prefix) == ("importer", ["threads:write"], raw_key[:12])
    assert selectors.api_key_find(raw_key=raw_key) == api_key
    assert raw_key not in api_key.key_hash
    for url in ("/admin/access/apikey/", f"/admin/access/apikey/{api_key.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200 and raw_key.encode() not in page.content


def test_permissions_that_are_not_a_list_of_strings_are_refused_by_the_form(admin_client):
    response = admin_client.post(ADD_URL, {"label": "x", "owner": "o", "permissions": '"admin"'})

    assert response.status_code == 200 and b"list of strings" in response.content
    assert not ApiKey.objects.exists()


def test_editing_a_key_keeps_its_secret(admin_client):
    api_key, raw_key, _ = _create(admin_client)
    form = {"label": "renamed", "owner": "importer", "permissions": "[]"}

    response = admin_client.post(f"/admin/access/apikey/{api_key.pk}/change/", form)

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.label == "renamed" and selectors.api_key_find(raw_key=raw_key) == api_key


def test_revoke_action_stops_the_key(admin_client):
    api_key, raw_key, _ = _create(admin_client)

    response = admin_client.post("/admin/access/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and selectors.api_key_find(raw_key=raw_key) is None
    assert "1 API keys revoked." in admin_client.get("/admin/access/apikey/").content.decode()


def test_changelist_shows_when_each_key_was_last_used(admin_client):
    used, _ = services.api_key_create(label="used", owner="o")
    services.api_key_create(label="never", owner="o")
    services.api_key_mark_used(api_key=used)

    page = admin_client.get("/admin/access/apikey/").content.decode()

    cells = re.findall(r'<td class="field-last_used_at[^"]*">(.*?)</td>', page)
    assert "last used at" in page.lower() and len(cells) == 2
    assert sorted(cell == "-" for cell in cells) == [False, True]
