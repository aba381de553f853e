"""`manage.py check` reports a broken langgraph.json, graph or custom app before anything starts."""

from __future__ import annotations

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
