"""`manage.py check` (and start-up, agentplatform.startup) report a broken langgraph.json, graph or custom app,
a production server on the development secret key and official encryption keys this server cannot honour, before
anything starts; and warn of the official environment variables this server does not read."""

from __future__ import annotations

import os

from django.conf import settings
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


# Official variables asking for what this server does not do. Encryption is refused, as the langgraph.json
# `encryption` key is: data the operator asked to encrypt must not be stored in the clear without a word.
UNSUPPORTED_ENCRYPTION_ENV = ("LANGGRAPH_AES_KEY", "LANGGRAPH_AES_JSON_KEYS", "LANGGRAPH_ENCRYPTION")
IGNORED_ENV = {
    "REDIS_KEY_PREFIX": "give each deployment its own Redis database (REDIS_URI=redis://host:6379/<n>)",
    "REDIS_CLUSTER": "Redis Cluster is not a supported Celery broker: use one Redis, or Sentinel",
    "BG_JOB_ISOLATED_LOOPS": "runs share their worker's event loop; a run that blocks it is timed out or taken "
    "over from outside it (BG_JOB_TIMEOUT_SECS), so no run needs a loop of its own",
    "LANGGRAPH_AUTH_TYPE": "authentication is langgraph.json's auth.path, or the built-in API keys "
    "(AGENTPLATFORM_API_KEYS)",
}


@register()
def unsupported_env_check(app_configs, **kwargs):
    found = [name for name in UNSUPPORTED_ENCRYPTION_ENV if os.environ.get(name)]
    if not found:
        return []
    message = f"{', '.join(found)} set, but at-rest encryption is not supported: data would be stored unencrypted."
    return [Error(message, hint="Unset it, and rely on the database's own encryption.", id="agentplatform.E004")]


@register()
def ignored_env_check(app_configs, **kwargs):
    return [
        Warning(f"{name} is set, but not read here.", hint=why, id="agentplatform.W002")
        for name, why in IGNORED_ENV.items()
        if os.environ.get(name)
    ]
