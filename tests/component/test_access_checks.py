"""`manage.py check` stops on a broken auth.path with the file and the fix, and names uncovered actions."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from access import checks

AUTHENTICATE = "@auth.authenticate\nasync def authenticate(authorization):\n    return 'u'\n"


def test_manage_py_check_fails_on_a_broken_auth_file_naming_it(use_auth):
    use_auth("raise RuntimeError('misconfigured')\n")

    with pytest.raises(SystemCheckError) as failed:
        call_command("check")

    assert "access.E001" in str(failed.value)
    assert "auth.py" in str(failed.value) and "RuntimeError: misconfigured" in str(failed.value)


def test_missing_auth_file_says_to_fix_the_path(use_auth, tmp_path):
    use_auth(AUTHENTICATE)
    (tmp_path / "auth.py").unlink()

    [error] = checks.custom_auth_check(None)

    assert error.id == "access.E001"
    assert str(tmp_path / "auth.py") in error.msg and "fix the path in langgraph.json" in error.msg


def test_uncovered_actions_are_a_warning_with_the_default_deny_fix(use_auth):
    use_auth(AUTHENTICATE + "@auth.on.threads\nasync def mine(ctx, value):\n    pass\n")

    [warning] = checks.custom_auth_check(None)

    assert warning.id == "access.W001" and "assistants.create" in warning.msg
    assert "async def deny_by_default" in warning.hint


def test_complete_auth_and_no_auth_pass(use_auth):
    assert checks.custom_auth_check(None) == []
    use_auth(AUTHENTICATE + "@auth.on\nasync def deny(ctx, value):\n    return False\n")

    assert checks.custom_auth_check(None) == []


def test_an_unreadable_langgraph_json_is_left_to_the_agentplatform_check(tmp_path, settings, use_auth):
    (tmp_path / "langgraph.json").write_text("{nope")
    settings.LANGGRAPH_CONFIG = str(tmp_path / "langgraph.json")

    assert checks.custom_auth_check(None) == []
