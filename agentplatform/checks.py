"""`manage.py check` reports a broken langgraph.json or graph before anything starts."""

from __future__ import annotations

import os

from django.core.checks import Error, Warning, register

from agentplatform.langgraph_config import ConfigError


@register()
def langgraph_config_check(app_configs, **kwargs):
    from agentplatform.graphs import get_registry
    from agentplatform.run_headers import header_patterns

    try:
        get_registry()
        header_patterns()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix langgraph.json or set LANGGRAPH_CONFIG.", id="agentplatform.E001")]
    return []


# What `langgraph build` writes into the official image in place of langgraph.json; this server reads the file.
OFFICIAL_IMAGE_ENV = (
    "LANGSERVE_GRAPHS",
    "LANGGRAPH_HTTP",
    "LANGGRAPH_STORE",
    "LANGGRAPH_CHECKPOINTER",
    "LANGGRAPH_AUTH",
    "LANGGRAPH_WEBHOOKS",
)


@register()
def official_image_env_check(app_configs, **kwargs):
    found = [name for name in OFFICIAL_IMAGE_ENV if os.environ.get(name)]
    if not found:
        return []
    message = f"{', '.join(found)} set, but not read here: the sections of langgraph.json are read from the file."
    return [Warning(message, hint="Point LANGGRAPH_CONFIG at your langgraph.json instead.", id="agentplatform.W001")]
