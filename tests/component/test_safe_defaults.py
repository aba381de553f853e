"""Safe defaults of the API edge (Django test client, real Postgres): CORS for the allowed origins only, foreign
origins refused on writes, JSON bodies only, a health check that keeps database errors to itself, the public
development secret key refused, and the admin that can move or go away."""

from __future__ import annotations

import importlib

import psycopg
import pytest
from django.test import Client, override_settings
from django.urls import clear_url_caches

from agentplatform import checks, system, urls
from agentplatform.handlers import admin_prefixes

pytestmark = pytest.mark.django_db
APP = "https://app.example"


@pytest.fixture
def api() -> Client:
    return Client()


@override_settings(CORS_ALLOWED_ORIGINS=[APP], CORS_ALLOW_CREDENTIALS=True)
def test_an_allowed_origin_gets_cors_headers_and_a_preflight_for_the_headers_it_asks(api):
    preflight = api.options(
        "/threads",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-api-key, x-tenant",
        },
    )
    created = api.post("/threads", {}, content_type="application/json", headers={"Origin": APP})

    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization, x-api-key, x-tenant"
    assert created.status_code == 200 and created.headers["Access-Control-Allow-Origin"] == APP
    assert "x-pagination-total" in created.headers["Access-Control-Expose-Headers"]


def test_a_foreign_origin_gets_no_cors_headers_and_cannot_write(api):
    read = api.get("/ok", headers={"Origin": "https://evil.example"})
    write = api.post("/threads", {}, content_type="application/json", headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in read.headers and read.status_code == 200
    assert write.status_code == 403
    assert write.json() == {
        "detail": "Origin https://evil.example is not allowed; add it to CORS_ALLOW_ORIGINS or http.cors."
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{}", "text/plain"), (b"{}", "application/x-www-form-urlencoded"), (b"", "text/plain"), (b"{}", "")],
)
def test_api_bodies_must_be_json(api, body, content_type):
    # The Content-Type is sent even with an empty body (a browser form without fields).
    response = api.generic("POST", "/runs/wait", body, content_type=content_type, CONTENT_TYPE=content_type)

    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}


def test_json_with_parameters_and_bodiless_posts_pass(api):
    thread = api.generic("POST", "/threads", b"{}", content_type="application/json; charset=utf-8").json()

    assert api.generic("POST", f"/threads/{thread['thread_id']}/copy", b"", content_type="").status_code == 200


def test_the_health_check_keeps_the_database_error_to_itself(api, monkeypatch):
    def fail() -> None:
        raise psycopg.OperationalError('password authentication failed for user "secret-admin" at db.internal')

    monkeypatch.setattr(system, "_select_one", fail)
    response = api.get("/ok", {"check_db": "1"})

    assert (response.status_code, response.json()) == (500, {"ok": False, "detail": "database unavailable"})


@pytest.mark.parametrize(
    ("debug", "key", "refused"), [(False, None, True), (True, None, False), (False, "x" * 50, False)]
)
def test_the_public_development_key_is_refused_with_debug_off(settings, debug, key, refused):
    settings.DEBUG, settings.SECRET_KEY = debug, key or settings.DEV_SECRET_KEY

    assert [error.id for error in checks.secret_key_check(None)] == (["agentplatform.E003"] if refused else [])


def _reload_urls() -> None:
    importlib.reload(urls)
    clear_url_caches()


@pytest.mark.parametrize(("enabled", "path"), [(True, "ops/admin"), (False, "admin")])
def test_the_admin_can_move_or_be_turned_off(admin_user, enabled, path):
    try:
        with override_settings(ADMIN_ENABLED=enabled, ADMIN_PATH=path):
            _reload_urls()
            client = Client()
            client.force_login(admin_user)
            moved = client.get(f"/{path}/")
            old = client.get("/admin/")
            prefixes = admin_prefixes()
    finally:
        _reload_urls()
    if enabled:
        assert moved.status_code == 200 and prefixes == ("/ops/admin", "/static/")
        assert old.status_code == 404 and old.json() == {"detail": "Not Found"}
    else:
        assert moved.status_code == 404 and moved.json() == {"detail": "Not Found"}
        assert prefixes == ("/static/",)
