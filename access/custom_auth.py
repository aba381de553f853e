"""`auth` in langgraph.json, read as the official server reads it, and the `langgraph_sdk.Auth` object it names.

    "auth": {
      "path": "./auth.py:auth",          file path (relative to langgraph.json) or module, then ":" and the name
      "disable_studio_auth": false,      accepted; Studio's LangSmith credentials are never trusted here anyway
      "openapi": {"securitySchemes": {...}, "security": [...], "paths": {...}},   shown in /openapi.json
      "cache": {"cache_keys": ["authorization"], "ttl_seconds": 60, "max_size": 1000}
    }

Loaded once per process, on first use (start-up calls it, so a broken file stops the server, and `manage.py
check` reports it); never at import time.
"""

from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from langgraph_sdk import Auth

from access.handlers import DEFAULT_DENY_HINT, coverage_warning
from agentplatform.langgraph_config import (
    ConfigError,
    LangGraphConfig,
    apply_environment,
    import_target,
    load_config,
)

logger = logging.getLogger(__name__)

# What an @auth.authenticate handler may declare, by name (official SUPPORTED_PARAMETERS). `body` is accepted but,
# as officially, never passed: it must have a default.
AUTHENTICATE_PARAMETERS = frozenset(
    {
        "request",
        "body",
        "user",
        "path",
        "method",
        "scopes",
        "path_params",
        "query_params",
        "headers",
        "authorization",
        "scope",
    }
)
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")


@dataclass(frozen=True)
class CacheSettings:
    """`auth.cache`: successful authentications are reused for requests whose `cache_keys` headers are equal."""

    cache_keys: tuple[str, ...]
    ttl_seconds: float = 60.0
    max_size: int = 1000


@dataclass(frozen=True)
class CustomAuth:
    auth: Auth
    path: str
    authenticate_params: frozenset[str]
    disable_studio_auth: bool = False
    openapi: dict | None = None
    cache: CacheSettings | None = None


def _cache_settings(raw: Any) -> CacheSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError('auth.cache must be an object, e.g. {"cache_keys": ["authorization"], "ttl_seconds": 60}.')
    keys = raw.get("cache_keys", [])
    if not isinstance(keys, list) or not all(isinstance(key, str) and key for key in keys):
        raise ConfigError('auth.cache.cache_keys must be a list of header names, e.g. ["authorization"].')
    ttl, size = raw.get("ttl_seconds", 60), raw.get("max_size", 1000)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise ConfigError(f"auth.cache.ttl_seconds must be a positive number of seconds, got {ttl!r}.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"auth.cache.max_size must be a whole number >= 1, got {size!r}.")
    return CacheSettings(tuple(key.lower() for key in keys), float(ttl), size)


def _section(raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError('auth must be an object, e.g. "auth": {"path": "./auth.py:auth"}.')
    path = raw.get("path")
    if not isinstance(path, str) or ":" not in path:
        raise ConfigError(
            f'auth.path must name your Auth object as "./auth.py:auth" (file, relative to langgraph.json) or '
            f'"package.module:auth", got {path!r}.'
        )
    if path.rpartition(":")[0].endswith(_JS_SUFFIXES):
        raise ConfigError(f"auth.path {path} is JavaScript: only Python auth files are supported; write it in Python.")
    openapi = raw.get("openapi")
    if openapi is not None and not isinstance(openapi, dict):
        raise ConfigError('auth.openapi must be an object, e.g. {"securitySchemes": {...}, "security": [...]}.')
    return {"path": path, "openapi": openapi, "disable_studio_auth": bool(raw.get("disable_studio_auth", False))}


def _import_auth(path: str, config: LangGraphConfig, what: str) -> Auth:
    module_path, _, attr = path.rpartition(":")
    target = import_target(path, config.base_dir, what=what, module_name="agentplatform_auth")
    if target is None:
        raise ConfigError(f"{what}: {module_path} has no attribute '{attr}'; fix the name after ':' in langgraph.json.")
    if not isinstance(target, Auth):
        raise ConfigError(
            f"{what} is a {type(target).__name__}, not an Auth object: create it in {module_path} with "
            f"`from langgraph_sdk import Auth` and `{attr} = Auth()`."
        )
    return target


def _authenticate_params(auth: Auth, what: str) -> frozenset[str]:
    handler = auth._authenticate_handler
    if handler is None:
        raise ConfigError(
            f"{what} has no authentication handler: add one, e.g.\n\n    @auth.authenticate\n"
            "    async def authenticate(authorization: str | None) -> str:\n        ...  # return the user's id"
        )
    params = inspect.signature(handler).parameters.values()
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unsupported = [p.name for p in named if p.name not in AUTHENTICATE_PARAMETERS and p.default is p.empty]
    if any(p.name == "body" and p.default is p.empty for p in named):
        unsupported.append("body (never passed, as on the official server: give it a default)")
    if unsupported:
        raise ConfigError(
            f"{what}: the authentication handler {getattr(handler, '__name__', handler)} takes unsupported "
            "required parameters: "
            f"{', '.join(unsupported)}. It may take: {', '.join(sorted(AUTHENTICATE_PARAMETERS))}."
        )
    return frozenset(p.name for p in named if p.name in AUTHENTICATE_PARAMETERS)


def load_custom_auth(config: LangGraphConfig) -> CustomAuth | None:
    """The Auth object `auth.path` names, checked; None without an `auth` section. ConfigError says what to fix."""
    if config.auth is None:
        return None
    section = _section(config.auth)
    apply_environment(config)  # `dependencies` and `env` apply to the auth file as to the graphs
    what = f"auth.path ({section['path']} in {config.path})"
    auth = _import_auth(section["path"], config, what)
    params = _authenticate_params(auth, what)
    return CustomAuth(auth=auth, authenticate_params=params, cache=_cache_settings(config.auth.get("cache")), **section)


def _log_startup(custom: CustomAuth) -> None:
    logger.info("Custom auth loaded from %s", custom.path)
    if not custom.openapi:
        logger.info("auth.openapi is not set: /openapi.json shows no security schemes for custom auth.")
    if warning := coverage_warning(custom.auth, custom.path):
        logger.warning("%s %s", warning, DEFAULT_DENY_HINT)
    if custom.cache and not {"authorization", "x-api-key"} & set(custom.cache.cache_keys):
        logger.warning(
            "auth.cache.cache_keys %s holds no credential header: a request is authenticated as whoever last "
            'sent the same values. Add the header that carries the credential, e.g. "authorization".',
            list(custom.cache.cache_keys),
        )


_UNLOADED = object()
_custom_auth: Any = _UNLOADED
_lock = threading.Lock()


def get_custom_auth() -> CustomAuth | None:
    """This process's custom auth (None when langgraph.json has no `auth`), loaded and logged on first use."""
    global _custom_auth
    if _custom_auth is _UNLOADED:
        with _lock:
            if _custom_auth is _UNLOADED:
                loaded = load_custom_auth(load_config(settings.LANGGRAPH_CONFIG))
                if loaded is not None:
                    _log_startup(loaded)
                _custom_auth = loaded
    return _custom_auth


def reset_custom_auth() -> None:
    """Forget the loaded auth (tests switch langgraph.json files)."""
    global _custom_auth
    with _lock:
        _custom_auth = _UNLOADED
