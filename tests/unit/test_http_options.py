"""langgraph.json `http` keys of the custom app, route toggles and mount prefix (official names and meanings)."""

import json

import pytest

from agentplatform.http_options import HttpOptions, http_section, mount_prefix, parse_http_options, route_group
from agentplatform.langgraph_config import ConfigError


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/assistants/search", "assistants"),
        ("/assistants/<str:assistant_id>/graph", "assistants"),
        ("/threads", "threads"),
        ("/threads/{thread_id}/state", "threads"),
        ("/threads/<str:thread_id>/stream", "threads"),  # the official lists the thread stream with threads
        ("/threads/{thread_id}/runs", "runs"),
        ("/threads/<str:thread_id>/runs/crons", "runs"),  # crons are run routes officially
        ("/runs/crons/search", "runs"),
        ("/runs/wait", "runs"),
        ("/ws", "runs"),
        ("/store/items", "store"),
        ("/", "meta"),
        ("/ok", "meta"),
        ("/info", "meta"),
        ("/metrics", "meta"),
        ("/docs", "meta"),
        ("/openapi.json", "meta"),
        ("/mcp", "mcp"),
        ("/a2a/<str:assistant_id>/.well-known/agent-card.json", "a2a"),
        (".well-known/agent-card.json", "a2a"),  # the domain-root agent card is an A2A route officially
        ("/admin/", None),
        ("/hello", None),
    ],
)
def test_route_group_follows_the_official_route_lists(path, group):
    assert route_group(path) == group


def test_defaults_serve_everything_in_middleware_first_order():
    options = parse_http_options({})
    assert options == HttpOptions()
    assert options.middleware_order == "middleware_first"
    assert options.serves("/store/items") and options.serves("/ok")


def test_disable_flags_turn_off_their_groups_only():
    options = parse_http_options({"disable_store": True, "disable_runs": True, "disable_threads": False})
    assert not options.serves("/store/items")
    assert not options.serves("/threads/<str:thread_id>/runs/wait")
    assert options.serves("/threads/<str:thread_id>")
    assert options.serves("/assistants")


def test_ui_mcp_and_a2a_flags_are_read_with_the_others():
    options = parse_http_options({"disable_ui": True, "disable_mcp": True, "disable_a2a": True})
    assert options.disabled == frozenset({"ui", "mcp", "a2a"})
    assert not options.serves("/mcp") and not options.serves("/a2a/<str:assistant_id>")
    assert options.serves("/threads") and options.serves("/ok")


def test_other_http_keys_are_left_to_their_owners():
    options = parse_http_options({"cors": {"allow_origins": ["x"]}, "configurable_headers": {}, "logging_headers": {}})
    assert options == HttpOptions()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"disable_store": "yes"}, "http.disable_store"),
        ({"enable_custom_route_auth": 1}, "http.enable_custom_route_auth"),
        ({"middleware_order": "auth_last"}, "auth_first"),
        ({"app": ["./app.py:app"]}, "http.app"),
        ({"app": "./app.py"}, "http.app"),
        ({"app": "./app.ts:app"}, "JavaScript"),
    ],
)
def test_bad_values_are_refused_naming_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_http_options(section)


def test_mount_prefix_loses_its_trailing_slash():
    assert mount_prefix("/api/") == "/api"
    assert mount_prefix("/my/deployment") == "/my/deployment"
    assert mount_prefix(None) is None
    assert mount_prefix("") is None
    assert mount_prefix("/") is None  # officially the same as no prefix


@pytest.mark.parametrize("value", ["api", "/noauth", "/noauth/x"])
def test_mount_prefix_must_start_with_a_slash_and_not_be_reserved(value):
    with pytest.raises(ConfigError, match="mount_prefix"):
        mount_prefix(value)


def test_http_section_reads_langgraph_json_and_tolerates_a_broken_file(tmp_path):
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {}, "http": {"mount_prefix": "/api"}}))
    assert http_section(config) == {"mount_prefix": "/api"}
    config.write_text("{not json")
    assert http_section(config) == {}  # reported by manage.py check (agentplatform.E001), not here
    assert http_section(tmp_path / "missing.json") == {}
