"""`manage.py check` (and start-up, agentplatform.startup) report a broken langgraph.json, graph or custom app,
and a production server on the development secret key, before anything starts."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from agentplatform.langgraph_config import ConfigError


@register()
def langgraph_config_check(app_configs, **kwargs):
    from agentplatform.graphs import get_registry

    try:
        get_registry()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix langgraph.json or set LANGGRAPH_CONFIG.", id="agentplatform.E001")]
    return []


@register()
def http_app_check(app_configs, **kwargs):
    """The `http` keys and the custom app of `http.app`, imported as start-up will import it."""
    from agentplatform.custom_app import get_custom_app
    from agentplatform.graphs import get_registry

    try:
        get_registry()
    except ConfigError:
        return []  # agentplatform.E001 says why
    try:
        get_custom_app()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix the http section of langgraph.json.", id="agentplatform.E002")]
    return []


@register()
def secret_key_check(app_configs, **kwargs):
    """The built-in key is public (it is in this repository): with it, anyone can forge the admin's sessions and
    signed values. Development (DEBUG, or `manage.py dev`, which makes a key of its own) may use it."""
    if settings.DEBUG or settings.SECRET_KEY != settings.DEV_SECRET_KEY:
        return []
    return [
        Error(
            "DJANGO_SECRET_KEY is not set: the built-in development key is public and refused with DEBUG off.",
            hint='Set DJANGO_SECRET_KEY to a long random value, e.g. python -c "import secrets; '
            'print(secrets.token_urlsafe(50))".',
            id="agentplatform.E003",
        )
    ]
