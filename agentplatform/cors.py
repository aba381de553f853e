"""Which browser origins may call the API: CORS from the environment and langgraph.json, as the official server reads
them, with a safe default.

    CORS_ALLOW_ORIGINS=https://app.example.com,https://admin.example.com     (env, comma-separated; "*" = any)
    CORS_CONFIG='{"allow_origins": [...], ...}'                                (env, JSON; wins over langgraph.json)
    "http": {"cors": {"allow_origins": [...], "allow_methods": [...], "allow_headers": [...],
                      "allow_credentials": false, "allow_origin_regex": "...", "expose_headers": [...],
                      "max_age": 600}}                                          (langgraph.json)

Unlike the official server (which allows every origin unless told otherwise) no origin is allowed by default: a
page on another site must not drive a server on the visitor's machine or network. The same policy decides which
origins may open the websocket and send state-changing requests (agentplatform.middleware.OriginGuardMiddleware).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from corsheaders.defaults import default_headers, default_methods
from corsheaders.middleware import ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN
from corsheaders.middleware import CorsMiddleware as _CorsHeadersMiddleware
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Sent whatever the configuration says: clients read pagination and the run's location from these.
DEFAULT_EXPOSE_HEADERS = ("x-pagination-total", "x-pagination-next", "content-location", "location")
_LIST_KEYS = ("allow_origins", "allow_methods", "allow_headers", "expose_headers")
_KEYS = frozenset({*_LIST_KEYS, "allow_credentials", "allow_origin_regex", "max_age"})


@dataclass(frozen=True)
class CorsPolicy:
    allow_origins: tuple[str, ...] = ()
    allow_origin_regex: str | None = None
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("*",)
    allow_credentials: bool = False
    expose_headers: tuple[str, ...] = DEFAULT_EXPOSE_HEADERS
    max_age: int = 600
    source: str = field(default="default", compare=False)

    def settings(self) -> dict[str, Any]:
        """The django-cors-headers settings (plus CORS_ECHO_REQUEST_HEADERS for our middleware)."""
        return {
            "CORS_ALLOW_ALL_ORIGINS": "*" in self.allow_origins,
            "CORS_ALLOWED_ORIGINS": [o for o in self.allow_origins if o != "*"],
            "CORS_ALLOWED_ORIGIN_REGEXES": [self.allow_origin_regex] if self.allow_origin_regex else [],
            "CORS_ALLOW_METHODS": list(default_methods) if "*" in self.allow_methods else list(self.allow_methods),
            "CORS_ALLOW_HEADERS": list(default_headers) if "*" in self.allow_headers else list(self.allow_headers),
            "CORS_ECHO_REQUEST_HEADERS": "*" in self.allow_headers,
            "CORS_ALLOW_CREDENTIALS": self.allow_credentials,
            "CORS_EXPOSE_HEADERS": list(self.expose_headers),
            "CORS_PREFLIGHT_MAX_AGE": self.max_age,
        }


def _strings(value: Any, name: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImproperlyConfigured(f'{source}: cors.{name} must be a list of strings, e.g. ["https://app.com"].')
    return tuple(value)


def _from_config(raw: Any, source: str, env_origins: tuple[str, ...] | None) -> CorsPolicy:
    """An explicit configuration: what it does not set takes Starlette's defaults, as officially."""
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f'{source}: cors must be an object, e.g. {{"allow_origins": [...]}}.')
    if unknown := sorted(set(raw) - _KEYS):
        raise ImproperlyConfigured(f"{source}: unknown cors key {unknown[0]!r}; use {', '.join(sorted(_KEYS))}.")
    lists = {name: _strings(raw[name], name, source) for name in _LIST_KEYS if name in raw}
    regex, credentials, max_age = (
        raw.get("allow_origin_regex"),
        raw.get("allow_credentials", False),
        raw.get("max_age", 600),
    )
    if regex is not None and not isinstance(regex, str):
        raise ImproperlyConfigured(f"{source}: cors.allow_origin_regex must be a string.")
    if not isinstance(credentials, bool):
        raise ImproperlyConfigured(f"{source}: cors.allow_credentials must be true or false.")
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ImproperlyConfigured(f"{source}: cors.max_age must be a whole number of seconds.")
    origins = lists.get("allow_origins", env_origins or ())
    return CorsPolicy(
        allow_origins=origins,
        allow_origin_regex=regex,
        allow_methods=lists.get("allow_methods", ("GET",)),
        allow_headers=lists.get("allow_headers", ()),
        allow_credentials=credentials,
        expose_headers=lists.get("expose_headers", ()),
        max_age=max_age,
        source=source,
    )


def _langgraph_cors(config_path: str) -> Any:
    """`http.cors` of langgraph.json, or None; an unreadable file is reported by its own check (agentplatform.E001)."""
    try:
        data = json.loads(Path(config_path).read_text())
    except (OSError, ValueError):
        return None
    http = data.get("http") if isinstance(data, dict) else None
    return http.get("cors") if isinstance(http, dict) else None


def cors_policy(config_path: str, environ: os._Environ | dict = os.environ) -> CorsPolicy:
    raw_origins = environ.get("CORS_ALLOW_ORIGINS")
    env_origins = tuple(o.strip() for o in raw_origins.split(",") if o.strip()) if raw_origins else None
    if raw_config := environ.get("CORS_CONFIG"):
        try:
            config = json.loads(raw_config)
        except ValueError:
            raise ImproperlyConfigured(
                "CORS_CONFIG must be a JSON object, e.g. '{\"allow_origins\": [...]}'."
            ) from None
        return _from_config(config, "CORS_CONFIG", env_origins)
    if (config := _langgraph_cors(config_path)) is not None:
        return _from_config(config, f"{config_path} http.cors", env_origins)
    # Officially: those origins, any method and header, credentials unless any origin is allowed.
    origins = env_origins or ()
    return CorsPolicy(allow_origins=origins, allow_credentials=bool(origins) and "*" not in origins)


def _same_origin(origin: str, host: str | None) -> bool:
    try:
        return host is not None and urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def origin_allowed(origin: str, *, host: str | None) -> bool:
    """Whether a browser page from `origin` may use the API: the server's own pages, or an allowed origin."""
    if _same_origin(origin, host) or settings.CORS_ALLOW_ALL_ORIGINS:
        return True
    try:
        url = urlsplit(origin)
    except ValueError:
        return False
    for allowed in settings.CORS_ALLOWED_ORIGINS:
        candidate = urlsplit(allowed)
        if (candidate.scheme, candidate.netloc) == (url.scheme, url.netloc):
            return True
    return any(re.match(pattern, origin) for pattern in settings.CORS_ALLOWED_ORIGIN_REGEXES)


class CorsMiddleware(_CorsHeadersMiddleware):
    """django-cors-headers, plus `allow_headers: ["*"]` as Starlette means it: a preflight is answered with the
    headers it asks for (a literal `*` would not cover Authorization, which browsers require by name)."""

    def add_response_headers(self, request, response):
        response = super().add_response_headers(request, response)
        requested = request.headers.get("access-control-request-headers")
        if (
            request.method == "OPTIONS"
            and requested
            and settings.CORS_ECHO_REQUEST_HEADERS
            and ACCESS_CONTROL_ALLOW_ORIGIN in response
        ):
            response[ACCESS_CONTROL_ALLOW_HEADERS] = requested
        return response
