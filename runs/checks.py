"""`manage.py check` (and start-up, runs.apps) report a bad `webhooks` section of langgraph.json with the fix."""

from __future__ import annotations

from django.core.checks import CheckMessage, Error, register

from agentplatform.graphs import get_registry
from agentplatform.langgraph_config import ConfigError
from runs.engine.webhooks import webhook_policy


@register()
def webhooks_check(app_configs, **kwargs) -> list[CheckMessage]:
    try:
        get_registry()
    except ConfigError:
        return []  # langgraph.json itself is unusable: agentplatform.E001 says so
    try:
        webhook_policy()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix the webhooks section of langgraph.json.", id="runs.E001")]
    return []
