"""`manage.py check` reports a broken langgraph.json or graph before anything starts."""

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
