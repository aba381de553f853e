"""Built-in API keys end to end on the auth stack (custom auth and keys together): a staff user creates a key in
the admin through its own pages, a client uses it with `get_client(api_key=...)` as its owner (so the owner's
resources and @auth.on rules apply), the key is stored hashed, and once revoked it is a 401."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
from langgraph_sdk.errors import NotFoundError

from tests.access_support import user_client

pytestmark = pytest.mark.integration

PASSWORD = "staff-password-for-tests"


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def admin(auth_stack):
    """An httpx client logged into the admin, through its login page, as a new superuser."""
    auth_stack.manage(
        "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com",
        extra_env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )  # fmt: skip
    client = httpx.Client(base_url=auth_stack.url, follow_redirects=True, timeout=30)
    login = client.get("/admin/login/")
    form = {"username": "root", "password": PASSWORD, "next": "/admin/", "csrfmiddlewaretoken": _csrf(login.text)}
    assert "Log out" in client.post("/admin/login/", data=form).text
    yield client
    client.close()


def _create_key(admin: httpx.Client, owner: str) -> str:
    page = admin.get("/admin/access/apikey/add/").text
    form = {"label": "integration", "owner": owner, "permissions": '["write"]', "csrfmiddlewaretoken": _csrf(page)}
    shown = admin.post("/admin/access/apikey/add/", data=form).text
    [raw_key] = set(re.findall(r"agp_[A-Za-z0-9_\-]{40,}", shown))
    return raw_key


def _revoke(admin: httpx.Client, raw_key: str) -> None:
    listing = admin.get("/admin/access/apikey/", params={"q": raw_key[:12]}).text
    [pk] = re.findall(r'name="_selected_action" value="(\d+)"', listing)
    form = {"action": "revoke", "_selected_action": pk, "csrfmiddlewaretoken": _csrf(listing)}
    assert "1 API keys revoked" in admin.post("/admin/access/apikey/", data=form).text


def test_a_key_made_in_the_admin_acts_as_its_owner_until_revoked(auth_stack, admin):
    owners_thread = user_client(auth_stack, "user1-token").threads.create()["thread_id"]
    others_thread = user_client(auth_stack, "user2-token").threads.create()["thread_id"]
    raw_key = _create_key(admin, owner="user1")
    [(key_hash,)] = auth_stack.sql("SELECT key_hash FROM access_apikey WHERE prefix = %s", (raw_key[:12],))
    assert key_hash == hashlib.sha256(raw_key.encode()).hexdigest()  # only the digest is stored

    keyed = user_client(auth_stack, api_key=raw_key)
    assert keyed.threads.get(owners_thread)["metadata"]["owner"] == "user1"
    with pytest.raises(NotFoundError):
        keyed.threads.get(others_thread)
    created = keyed.threads.create()
    assert created["metadata"]["owner"] == "user1"
    seen = keyed.runs.wait(created["thread_id"], "whoami", input={})
    assert (seen["user_id"], seen["permissions"]) == ("user1", ["write"])
    # A key never falls back to the Authorization header, which would have made this user2.
    both = httpx.get(
        f"{auth_stack.url}/threads/{owners_thread}",
        headers={"x-api-key": raw_key, "Authorization": "Bearer user2-token"},
    )
    assert both.status_code == 200

    _revoke(admin, raw_key)
    refused = httpx.get(f"{auth_stack.url}/threads/{owners_thread}", headers={"x-api-key": raw_key})
    assert (refused.status_code, refused.json()) == (401, {"detail": "Invalid API key"})


def test_an_unknown_key_is_401(auth_stack):
    response = httpx.post(f"{auth_stack.url}/threads/search", json={}, headers={"x-api-key": "agp_" + "x" * 43})
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid API key"})
