"""`http.disable_*` in the URLconf (disabled routes answer the unknown-path 404 and leave /openapi.json), and
`manage.py check` on a custom app that cannot be imported."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator

from agentplatform import urls
from agentplatform.custom_app import get_custom_app
from agentplatform.graphs import get_registry
from agentplatform.http_options import HttpOptions, http_options

GRAPHS = Path(__file__).resolve().parents[1] / "graphs" / "graphs.py"

pytestmark = pytest.mark.django_db
NOT_FOUND = {"detail": "Not Found"}


def urlconf(**options) -> types.ModuleType:
    module = types.ModuleType("test_http_urls")
    module.urlpatterns = urls.url_patterns(HttpOptions(**options))
    module.handler404 = urls.handler404
    return module


@pytest.fixture
def disabled():
    def serve(*groups: str) -> Client:
        override = override_settings(ROOT_URLCONF=urlconf(disabled=frozenset(groups)))
        override.enable()
        overrides.append(override)
        return Client()

    overrides: list = []
    yield serve
    for override in reversed(overrides):  # each restores what was there before it
        override.disable()


def test_disable_meta_keeps_an_unchecked_ok_and_drops_the_rest(disabled):
    client = disabled("meta")
    assert client.get("/ok").json() == {"ok": True}
    assert client.get("/ok?check_db=1").json() == {"ok": True}
    for path in ("/", "/info", "/ready", "/metrics", "/docs", "/openapi.json"):
        response = client.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


def test_disable_threads_leaves_the_runs_of_threads_to_disable_runs(disabled):
    client = disabled("threads")
    assert client.post("/threads/search", {}, content_type="application/json").json() == NOT_FOUND
    assert client.post("/runs/crons/search", {}, content_type="application/json").status_code == 200


def test_disable_runs_takes_crons_and_thread_runs_with_it(disabled):
    client = disabled("runs")
    assert client.post("/runs/crons/search", {}, content_type="application/json").json() == NOT_FOUND
    thread = client.post("/threads", {}, content_type="application/json").json()
    assert client.get(f"/threads/{thread['thread_id']}/runs").json() == NOT_FOUND
    assert client.get(f"/threads/{thread['thread_id']}").status_code == 200


def test_disable_mcp_and_disable_a2a_turn_off_their_routes_agent_cards_included(disabled):
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    client = disabled("mcp")
    assert client.post("/mcp", rpc, content_type="application/json", HTTP_ACCEPT="application/json").json() == NOT_FOUND
    assert client.get("/.well-known/agent-card.json").status_code == 400  # A2A still on: the card wants an id
    client = disabled("a2a")
    for path in ("/a2a/x", "/a2a/x/.well-known/agent-card.json", "/.well-known/agent-card.json"):
        assert (client.get(path).status_code, client.get(path).json()) == (404, NOT_FOUND), path
    assert client.post("/mcp", rpc, content_type="application/json", HTTP_ACCEPT="application/json").status_code == 200
    with override_settings(ROOT_URLCONF=urlconf(disabled=frozenset({"mcp", "a2a"}))):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not [p for p in schema["paths"] if p.startswith(("/mcp", "/a2a"))]


def test_disabled_routes_leave_the_openapi_document():
    with override_settings(ROOT_URLCONF=urlconf(disabled=frozenset({"store", "assistants"}))):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not [p for p in schema["paths"] if p.startswith(("/store", "/assistants"))]
    assert "/threads/{thread_id}/runs/wait" in schema["paths"]  # an async view the runs hook adds
    assert "/ok" in schema["paths"]


@pytest.fixture
def langgraph_json(tmp_path, settings):
    get_registry()  # loaded from the session's langgraph.json, which later tests need

    def write(http: dict):
        path = tmp_path / "langgraph.json"
        path.write_text(json.dumps({"graphs": {"echo": f"{GRAPHS}:echo"}, "http": http}))
        settings.LANGGRAPH_CONFIG = str(path)
        http_options.cache_clear()
        get_custom_app.cache_clear()

    yield write
    http_options.cache_clear()
    get_custom_app.cache_clear()


def test_manage_py_check_names_a_custom_app_that_fails_to_import(tmp_path, langgraph_json):
    app = tmp_path / "webapp.py"
    app.write_text("raise RuntimeError('missing API key')\n")
    langgraph_json({"app": f"{app}:app"})
    with pytest.raises(SystemCheckError) as failure:
        call_command("check")
    message = str(failure.value)
    assert "agentplatform.E002" in message
    assert "webapp.py" in message and "missing API key" in message


def test_manage_py_check_names_a_wrong_http_value(langgraph_json):
    langgraph_json({"middleware_order": "auth_last"})
    with pytest.raises(SystemCheckError, match=r"http\.middleware_order"):
        call_command("check")
