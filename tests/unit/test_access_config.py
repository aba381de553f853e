"""access.custom_auth: `auth` in langgraph.json loads the Auth object it names, or says what to fix."""

from __future__ import annotations

import json
import logging
import sys
import textwrap

import pytest

from access.custom_auth import get_custom_auth, load_custom_auth, reset_custom_auth
from agentplatform.langgraph_config import ConfigError, load_config

AUTHENTICATE = """
@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    return "user"
"""


@pytest.fixture(autouse=True)
def _forget_loaded_auth():
    yield
    reset_custom_auth()


def _load(tmp_path, auth_section, source: str | None = None):
    if source is not None:
        (tmp_path / "auth.py").write_text(textwrap.dedent(source))
    config = {"graphs": {"echo": "./graphs.py:echo"}, "auth": auth_section}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    return load_custom_auth(load_config(tmp_path / "langgraph.json"))


def test_file_path_relative_to_langgraph_json_names_the_auth_object(tmp_path):
    source = "from langgraph_sdk import Auth\nmy_auth = Auth()\n" + AUTHENTICATE.replace("@auth", "@my_auth")
    custom = _load(tmp_path, {"path": "./auth.py:my_auth"}, source)

    assert custom.path == "./auth.py:my_auth"
    assert custom.authenticate_params == {"authorization"}
    assert (custom.disable_studio_auth, custom.openapi, custom.cache) == (False, None, None)


def test_module_path_is_imported_from_the_dependencies(tmp_path):
    package = tmp_path / "deps" / "mysec"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "guard.py").write_text("from langgraph_sdk import Auth\nauth = Auth()\n" + AUTHENTICATE)
    config = {"graphs": {"g": "./g.py:g"}, "dependencies": ["./deps"], "auth": {"path": "mysec.guard:auth"}}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    try:
        custom = load_custom_auth(load_config(tmp_path / "langgraph.json"))
    finally:
        sys.modules.pop("mysec.guard", None)
        sys.modules.pop("mysec", None)

    assert custom.path == "mysec.guard:auth"


def test_no_auth_section_means_no_custom_auth(tmp_path):
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"g": "./g.py:g"}}))

    assert load_custom_auth(load_config(tmp_path / "langgraph.json")) is None


def test_options_are_read(tmp_path):
    source = "from langgraph_sdk import Auth\nauth = Auth()\n" + AUTHENTICATE
    section = {
        "path": "./auth.py:auth",
        "disable_studio_auth": True,
        "openapi": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "cache": {"cache_keys": ["Authorization"], "ttl_seconds": 5, "max_size": 10},
    }
    custom = _load(tmp_path, section, source)

    assert custom.disable_studio_auth is True
    assert custom.openapi == section["openapi"]
    assert (custom.cache.cache_keys, custom.cache.ttl_seconds, custom.cache.max_size) == (("authorization",), 5, 10)


@pytest.mark.parametrize(
    ("section", "source", "message"),
    [
        ({"path": "./missing.py:auth"}, None, "missing.py does not exist; fix the path"),
        ({"path": "./auth.py"}, None, 'auth.path must name your Auth object as "./auth.py:auth"'),
        ({}, None, "auth.path must name"),
        ("./auth.py:auth", None, "auth must be an object"),
        ({"path": "./auth.ts:auth"}, None, "JavaScript"),
        ({"path": "./auth.py:auth"}, "import nothing_here_at_all\n", "ModuleNotFoundError"),
        ({"path": "./auth.py:auth"}, "def broken(:\n", "SyntaxError"),
        ({"path": "./auth.py:nope"}, "x = 1\n", "has no attribute 'nope'"),
        ({"path": "./auth.py:x"}, "x = 1\n", "is a int, not an Auth object"),
        ({"path": "./auth.py:auth"}, "from langgraph_sdk import Auth\nauth = Auth()\n", "no authentication handler"),
        ({"path": "./auth.py:auth", "openapi": []}, None, "auth.openapi must be an object"),
        ({"path": "./auth.py:auth", "cache": {"cache_keys": "authorization"}}, None, "cache_keys must be a list"),
        ({"path": "./auth.py:auth", "cache": {"ttl_seconds": 0}}, None, "ttl_seconds must be a positive"),
    ],
)
def test_broken_auth_section_says_what_to_fix(tmp_path, section, source, message):
    if source is None and isinstance(section, dict) and section.get("path", "").startswith("./auth.py"):
        source = "from langgraph_sdk import Auth\nauth = Auth()\n" + AUTHENTICATE
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, section, source)


def test_an_async_only_sdk_rule_broken_at_import_is_reported_with_the_file(tmp_path):
    source = "from langgraph_sdk import Auth\nauth = Auth()\n@auth.on\ndef sync_handler(ctx, value):\n    pass\n"
    expected = r"auth\.path \(\./auth\.py:auth in .*langgraph\.json\): importing \./auth\.py failed .* async"
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, {"path": "./auth.py:auth"}, source)


def test_authenticate_handler_with_unknown_required_parameter_is_refused(tmp_path):
    source = "from langgraph_sdk import Auth\nauth = Auth()\n@auth.authenticate\nasync def who(token):\n    pass\n"
    with pytest.raises(ConfigError, match=r"unsupported required parameters: token\. It may take: authorization"):
        _load(tmp_path, {"path": "./auth.py:auth"}, source)


def test_authenticate_handler_requiring_body_is_refused_because_no_body_is_passed(tmp_path):
    source = "from langgraph_sdk import Auth\nauth = Auth()\n@auth.authenticate\nasync def who(body):\n    pass\n"
    with pytest.raises(ConfigError, match="body \\(never passed"):
        _load(tmp_path, {"path": "./auth.py:auth"}, source)


def test_first_use_logs_the_uncovered_actions_and_the_default_deny_fix(use_auth, caplog):
    use_auth(AUTHENTICATE + "\n@auth.on.threads\nasync def mine(ctx, value):\n    pass\n")
    with caplog.at_level(logging.WARNING, logger="access.custom_auth"):
        custom = get_custom_auth()
        assert get_custom_auth() is custom  # loaded (and logged) once

    [record] = [r for r in caplog.records if "no authorization handler" in r.getMessage()]
    assert "assistants.create" in record.getMessage() and "threads." not in record.getMessage()
    assert "@auth.on\n    async def deny_by_default" in record.getMessage()


def test_a_cache_keyed_on_no_credential_header_is_warned_about(use_auth, caplog):
    use_auth(
        AUTHENTICATE + "\n@auth.on\nasync def all_(ctx, value):\n    pass\n",
        cache={"cache_keys": ["x-tenant"]},
    )
    with caplog.at_level(logging.WARNING, logger="access.custom_auth"):
        get_custom_auth()

    assert any("holds no credential header" in r.getMessage() for r in caplog.records)
