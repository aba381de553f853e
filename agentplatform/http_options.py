"""The `http` keys of langgraph.json that shape what the server serves, with the official names and meanings:
`app` (a custom Starlette/FastAPI app beside the API), `disable_assistants|threads|runs|store|meta|ui|mcp|a2a`
(route groups turned off: they answer 404 and leave /openapi.json), `disable_webhooks`, `middleware_order`,
`enable_custom_route_auth`, and `mount_prefix` (or MOUNT_PREFIX). Other keys (`cors`, `configurable_headers`, ...)
belong to other modules.

Plain values only: agentplatform.custom_app and agentplatform.serving apply them.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from agentplatform.langgraph_config import ConfigError

# The official route groups a `disable_<group>` key turns off. `ui` is accepted for compatibility; this server
# serves none of its routes.
ROUTE_GROUPS = ("assistants", "threads", "runs", "store", "meta", "ui", "mcp", "a2a")
MIDDLEWARE_ORDERS = ("middleware_first", "auth_first")
_META = {"", "ok", "ready", "info", "metrics", "docs", "openapi.json"}
_JS_SUFFIXES = (".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx")


@dataclass(frozen=True)
class HttpOptions:
    app: str | None = None
    disabled: frozenset[str] = frozenset()
    disable_webhooks: bool = False  # runs.engine.webhooks sends none; /openapi.json drops the `webhook` fields
    middleware_order: str = "middleware_first"
    enable_custom_route_auth: bool = False

    def serves(self, route: str) -> bool:
        """Whether a route ("/threads/{thread_id}" or Django's "threads/<str:thread_id>") is served."""
        return route_group(route) not in self.disabled


def route_group(route: str) -> str | None:
    """The official group of a route: the first path segment, except that runs of a thread are `runs` (as the
    official lists them) and the websocket streams runs. None for routes no flag turns off (admin, custom)."""
    parts = route.strip("/").split("/")
    if parts[0] == "threads" and len(parts) > 2 and parts[2] == "runs":
        return "runs"
    if parts[0] == "ws":
        return "runs"
    if len(parts) == 1 and parts[0] in _META:
        return "meta"
    if parts[0] == ".well-known":  # the domain-root A2A agent card
        return "a2a"
    return parts[0] if parts[0] in ROUTE_GROUPS else None


def _flag(section: dict, key: str) -> bool:
    value = section.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"http.{key} must be true or false, got {value!r}.")
    return value


def _app_target(section: dict) -> str | None:
    target = section.get("app")
    if target is None:
        return None
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(f'http.app must be "./path/file.py:app" or "package.module:app", got {target!r}.')
    if target.rpartition(":")[0].endswith(_JS_SUFFIXES):
        raise ConfigError(f"http.app {target!r} is a JavaScript app; this server loads Python (Starlette) apps only.")
    return target


def parse_http_options(section: dict) -> HttpOptions:
    """The options of a langgraph.json `http` object; a wrong value is a ConfigError naming its key."""
    order = section.get("middleware_order") or "middleware_first"
    if order not in MIDDLEWARE_ORDERS:
        raise ConfigError(f"http.middleware_order must be 'auth_first' or 'middleware_first', got {order!r}.")
    return HttpOptions(
        app=_app_target(section),
        disabled=frozenset(group for group in ROUTE_GROUPS if _flag(section, f"disable_{group}")),
        disable_webhooks=_flag(section, "disable_webhooks"),
        middleware_order=order,
        enable_custom_route_auth=_flag(section, "enable_custom_route_auth"),
    )


def mount_prefix(value: str | None) -> str | None:
    """A validated mount prefix ("/api", no trailing slash), or None for none; the official rules."""
    if not value:
        return None
    if not value.startswith("/"):
        raise ConfigError(f"Invalid mount_prefix {value!r}: it must start with '/', e.g. '/my-api' or '/api/v1'.")
    value = value.rstrip("/")
    if value == "/noauth" or value.startswith("/noauth/"):
        raise ConfigError(f"Invalid mount_prefix {value!r}: '/noauth' is reserved by the official server.")
    return value or None


def http_section(config_path: str | os.PathLike) -> dict:
    """The `http` object of a langgraph.json, read before Django is set up (settings need the mount prefix).

    A missing or broken file reads as no `http` keys: loading the config reports those errors, with their fix."""
    try:
        data = json.loads(Path(config_path).read_text())
    except (OSError, ValueError):
        return {}
    section = data.get("http") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


@functools.cache
def http_options() -> HttpOptions:
    """The process's options, from settings.LANGGRAPH_CONFIG (read once)."""
    return parse_http_options(http_section(settings.LANGGRAPH_CONFIG))
