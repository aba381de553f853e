"""`manage.py check` (and start-up) report a broken `auth.path` with the fix, and name uncovered actions."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from access.custom_auth import get_custom_auth
from access.handlers import DEFAULT_DENY_HINT, coverage_warning
from agentplatform.langgraph_config import ConfigError, load_config


@register()
def custom_auth_check(app_configs, **kwargs) -> list[CheckMessage]:
    try:
        load_config(settings.LANGGRAPH_CONFIG)
    except ConfigError:
        return []  # langgraph.json itself is unusable: agentplatform.E001 says so
    try:
        custom = get_custom_auth()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix the auth section of langgraph.json or the file it names.", id="access.E001")]
    if custom is not None and (warning := coverage_warning(custom.auth, custom.path)):
        return [Warning(warning, hint=DEFAULT_DENY_HINT, id="access.W001")]
    return []
