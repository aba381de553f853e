"""Official environment variables for what this server does not do are never ignored silently: encryption keys
stop start-up (as the `encryption` key of langgraph.json does), the others are named by `manage.py check`."""

from __future__ import annotations

import pytest

from agentplatform import checks


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in [*checks.UNSUPPORTED_ENCRYPTION_ENV, *checks.IGNORED_ENV, *checks.OFFICIAL_IMAGE_ENV]:
        monkeypatch.delenv(name, raising=False)


def test_nothing_is_reported_without_official_variables():
    assert checks.unsupported_env_check(None) == []
    assert checks.ignored_env_check(None) == []
    assert checks.official_image_env_check(None) == []


def test_an_encryption_key_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("LANGGRAPH_AES_KEY", "k" * 32)
    [error] = checks.unsupported_env_check(None)
    assert error.id == "agentplatform.E004"
    assert "LANGGRAPH_AES_KEY" in error.msg and "unencrypted" in error.msg


def test_variables_not_read_here_are_warnings_that_say_what_to_do(monkeypatch):
    monkeypatch.setenv("REDIS_KEY_PREFIX", "tenant-a:")
    monkeypatch.setenv("BG_JOB_ISOLATED_LOOPS", "true")
    warnings = checks.ignored_env_check(None)
    assert [(w.id, w.msg.split(" ")[0]) for w in warnings] == [
        ("agentplatform.W002", "REDIS_KEY_PREFIX"),
        ("agentplatform.W002", "BG_JOB_ISOLATED_LOOPS"),
    ]
    assert "Redis database" in warnings[0].hint


def test_the_official_images_sections_are_a_warning(monkeypatch):
    monkeypatch.setenv("LANGSERVE_GRAPHS", '{"agent": "./a.py:graph"}')
    [warning] = checks.official_image_env_check(None)
    assert warning.id == "agentplatform.W001" and "LANGSERVE_GRAPHS" in warning.msg
