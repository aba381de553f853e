"""agentplatform.cors: the CORS policy from the environment and langgraph.json, as the official server reads it,
with no origin allowed by default."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from agentplatform.cors import DEFAULT_EXPOSE_HEADERS, CorsPolicy, cors_policy


def _config(tmp_path, cors=None) -> str:
    data = {"graphs": {"g": "./g.py:g"}} | ({"http": {"cors": cors}} if cors is not None else {})
    (tmp_path / "langgraph.json").write_text(json.dumps(data))
    return str(tmp_path / "langgraph.json")


def test_by_default_no_origin_is_allowed(tmp_path):
    policy = cors_policy(_config(tmp_path), environ={})
    settings = policy.settings()

    assert policy == CorsPolicy()
    assert (settings["CORS_ALLOW_ALL_ORIGINS"], settings["CORS_ALLOWED_ORIGINS"]) == (False, [])
    assert settings["CORS_EXPOSE_HEADERS"] == list(DEFAULT_EXPOSE_HEADERS)


def test_env_origins_allow_those_with_any_header_and_credentials(tmp_path):
    settings = cors_policy(_config(tmp_path), environ={"CORS_ALLOW_ORIGINS": "https://a.com, https://b.com"}).settings()

    assert settings["CORS_ALLOWED_ORIGINS"] == ["https://a.com", "https://b.com"]
    assert settings["CORS_ECHO_REQUEST_HEADERS"] and settings["CORS_ALLOW_CREDENTIALS"]


def test_a_star_allows_every_origin_without_credentials(tmp_path):
    settings = cors_policy(_config(tmp_path), environ={"CORS_ALLOW_ORIGINS": "*"}).settings()

    assert settings["CORS_ALLOW_ALL_ORIGINS"] and not settings["CORS_ALLOW_CREDENTIALS"]


def test_langgraph_json_http_cors_is_used_with_starlettes_defaults(tmp_path):
    cors = {"allow_origins": ["https://app.com"], "allow_headers": ["authorization"], "max_age": 60}
    settings = cors_policy(_config(tmp_path, cors), environ={}).settings()

    assert settings["CORS_ALLOWED_ORIGINS"] == ["https://app.com"]
    assert settings["CORS_ALLOW_HEADERS"] == ["authorization"] and not settings["CORS_ECHO_REQUEST_HEADERS"]
    assert (settings["CORS_ALLOW_METHODS"], settings["CORS_PREFLIGHT_MAX_AGE"]) == (["GET"], 60)
    assert settings["CORS_EXPOSE_HEADERS"] == [] and settings["CORS_ALLOW_CREDENTIALS"] is False


def test_expose_headers_credentials_and_origin_regex_of_http_cors_are_applied(tmp_path):
    cors = {"allow_origin_regex": r"https://.*\.app\.com", "allow_credentials": True, "expose_headers": ["x-a"]}
    settings = cors_policy(_config(tmp_path, cors), environ={}).settings()

    assert settings["CORS_EXPOSE_HEADERS"] == ["x-a"] and settings["CORS_ALLOW_CREDENTIALS"] is True
    assert settings["CORS_ALLOWED_ORIGIN_REGEXES"] == [r"https://.*\.app\.com"]


def test_env_origins_fill_a_config_without_allow_origins_and_cors_config_wins(tmp_path):
    path = _config(tmp_path, {"allow_methods": ["*"]})
    environ = {"CORS_ALLOW_ORIGINS": "https://env.com"}
    assert cors_policy(path, environ=environ).allow_origins == ("https://env.com",)
    environ["CORS_CONFIG"] = json.dumps({"allow_origins": ["https://cfg.com"], "allow_origin_regex": r"https://.*\.x"})
    policy = cors_policy(path, environ=environ)
    assert (policy.allow_origins, policy.allow_origin_regex) == (("https://cfg.com",), r"https://.*\.x")


@pytest.mark.parametrize(
    "cors",
    [["https://a.com"], {"allow_origins": "https://a.com"}, {"allow_credentials": "yes"}, {"max_age": -1}, {"x": 1}],
)
def test_a_malformed_cors_section_stops_start_up_with_the_fix(tmp_path, cors):
    with pytest.raises(ImproperlyConfigured, match="cors"):
        cors_policy(_config(tmp_path, cors), environ={})


def test_an_unreadable_langgraph_json_leaves_cors_to_its_own_check(tmp_path):
    (tmp_path / "langgraph.json").write_text("{not json")
    assert cors_policy(str(tmp_path / "langgraph.json"), environ={}) == CorsPolicy()
