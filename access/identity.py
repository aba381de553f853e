"""Who is calling: the one authentication step every HTTP request and websocket handshake goes through.

Order (docs/auth.md, "API keys and custom auth together"):
1. Neither custom auth (`auth.path`) nor API keys (`AGENTPLATFORM_API_KEYS`) configured: everyone is anonymous.
2. API keys on and an `x-api-key` header sent: the key decides alone. A valid key authenticates as its owner; an
   unknown or revoked key is a 401 and custom auth is not asked (a bad key never falls back to another scheme).
3. Otherwise custom auth's `@auth.authenticate` decides; with API keys on and no custom auth, a request without
   a key is a 401.

A refusal raises an AccessError (status and `detail` as the official server answers); a handler that fails in any
other way is a 401 (and a log line), never a pass and never a 500.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import close_old_connections

from access import selectors, services
from access.custom_auth import CustomAuth, get_custom_auth
from access.errors import Unauthenticated, refusal_from
from access.users import ANONYMOUS, AuthUser, normalize_auth_response

logger = logging.getLogger(__name__)

API_KEY_HEADER = b"x-api-key"  # what langgraph_sdk sends when given api_key=
# Paths the official server serves outside its authenticated routes.
OPEN_PATHS = frozenset({"/", "/ok", "/ready", "/info", "/metrics", "/docs", "/openapi.json"})
HeadersInput = Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]]
QueryInput = Mapping[str, str] | str | bytes | Iterable[tuple[str, str]] | None


class Scheme(StrEnum):
    """What decided who the caller is."""

    ANONYMOUS = "anonymous"  # nothing configured
    API_KEY = "api_key"
    CUSTOM = "custom"  # @auth.authenticate


@dataclass(frozen=True)
class AuthResult:
    user: AuthUser
    scheme: Scheme

    @property
    def permissions(self) -> list[str]:
        return self.user.permissions


ANONYMOUS_RESULT = AuthResult(ANONYMOUS, Scheme.ANONYMOUS)


@dataclass(frozen=True)
class RequestParts:
    """One request as the authenticate handler's parameters describe it (official names and types)."""

    method: str
    path: str
    headers: dict[bytes, bytes]  # lower-case names, as in an ASGI scope
    query_params: dict[str, str]
    path_params: dict[str, str] = field(default_factory=dict)
    request: Any = None
    scope: Mapping[str, Any] | None = None

    @property
    def api_key(self) -> str | None:
        value = self.headers.get(API_KEY_HEADER)
        return value.decode("latin-1") if value else None

    @property
    def authorization(self) -> str | None:
        value = self.headers.get(b"authorization")
        return value.decode("utf-8", "replace") if value is not None else None


def _header_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1", "replace")


def _headers(raw: HeadersInput) -> dict[bytes, bytes]:
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return {_header_bytes(name).lower(): _header_bytes(value) for name, value in pairs}


def _query(raw: QueryInput) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    if isinstance(raw, str):
        return dict(parse_qsl(raw, keep_blank_values=True))  # the last value of a repeated name wins, officially
    return dict(raw.items() if isinstance(raw, Mapping) else raw)


class _Headers(dict):
    """Header names looked up in any case, like Starlette's `request.headers`."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def _request_view(parts: RequestParts) -> SimpleNamespace:
    """For a handler that declares `request` when the edge passed none: the parts of a Starlette Request that
    auth handlers read (headers, method, url.path, query_params, path_params, scope)."""
    query = "&".join(f"{k}={v}" for k, v in parts.query_params.items())
    headers = _Headers({k.decode("latin-1"): v.decode("latin-1") for k, v in parts.headers.items()})
    url = SimpleNamespace(path=parts.path, query=query)
    return SimpleNamespace(
        method=parts.method,
        headers=headers,
        url=url,
        query_params=parts.query_params,
        path_params=parts.path_params,
        scope=_scope(parts),
    )


def _scope(parts: RequestParts) -> Mapping[str, Any]:
    if parts.scope is not None:
        return parts.scope
    query = "&".join(f"{k}={v}" for k, v in parts.query_params.items()).encode("latin-1", "replace")
    return {
        "type": "http",
        "method": parts.method,
        "path": parts.path,
        "headers": list(parts.headers.items()),
        "query_string": query,
        "path_params": parts.path_params,
    }


def _arguments(names: frozenset[str], parts: RequestParts) -> dict[str, Any]:
    """Only the parameters the handler declares, each as the official server passes it."""
    providers = {
        "request": lambda: parts.request if parts.request is not None else _request_view(parts),
        "user": lambda: None,  # nobody is authenticated yet
        "scopes": list,
        "path": lambda: parts.path,
        "method": lambda: parts.method,
        "path_params": lambda: dict(parts.path_params),
        "query_params": lambda: dict(parts.query_params),
        "headers": lambda: dict(parts.headers),
        "authorization": lambda: parts.authorization,
        "scope": lambda: _scope(parts),
    }
    return {name: providers[name]() for name in names if name in providers}


async def _call_authenticate(custom: CustomAuth, parts: RequestParts) -> AuthUser:
    handler = custom.auth._authenticate_handler
    kwargs = _arguments(custom.authenticate_params, parts)
    try:
        if inspect.iscoroutinefunction(handler):
            response = await handler(**kwargs)
        else:
            response = await asyncio.to_thread(handler, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        return normalize_auth_response(response)
    except Exception as exc:
        if (refusal := refusal_from(exc, fallback_status=401)) is not None:
            raise refusal from None
        # Officially a 500 (or a 400 for ValueError); a failing handler most often means a malformed credential
        # (`authorization.split()` on a missing header), so the caller gets a 401 and the operator the traceback.
        # Logged without the traceback (unless DEBUG logging is on): every bad request would print one.
        name = getattr(handler, "__name__", handler)
        debug = logger.isEnabledFor(logging.DEBUG)
        logger.warning("@auth.authenticate %s raised %r; answering 401", name, exc, exc_info=debug)
        raise Unauthenticated("Unauthorized") from None


class _AuthCache:
    """`auth.cache`: recent successful users by the values of the configured headers, per process."""

    def __init__(self, custom: CustomAuth) -> None:
        self.custom = custom
        self._entries: OrderedDict[tuple, tuple[float, AuthUser]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, parts: RequestParts) -> tuple | None:
        names = self.custom.cache.cache_keys
        key = tuple((name, parts.headers[name.encode()]) for name in names if name.encode() in parts.headers)
        return key or None

    def get(self, key: tuple) -> AuthUser | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._entries.pop(key, None)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, user: AuthUser) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.custom.cache.ttl_seconds, user)
            self._entries.move_to_end(key)
            while len(self._entries) > self.custom.cache.max_size:
                self._entries.popitem(last=False)


_cache: _AuthCache | None = None


def _cache_for(custom: CustomAuth) -> _AuthCache | None:
    global _cache
    if custom.cache is None:
        return None
    if _cache is None or _cache.custom is not custom:
        _cache = _AuthCache(custom)
    return _cache


async def _authenticate_custom(custom: CustomAuth, parts: RequestParts) -> AuthResult:
    cache = _cache_for(custom)
    key = cache.key(parts) if cache else None
    if key is not None and (cached := cache.get(key)) is not None:
        return AuthResult(cached, Scheme.CUSTOM)
    user = await _call_authenticate(custom, parts)
    if key is not None:
        cache.put(key, user)
    return AuthResult(user, Scheme.CUSTOM)


def _api_key_user(raw_key: str) -> AuthUser:
    api_key = selectors.api_key_find(raw_key=raw_key)
    if api_key is None:
        raise Unauthenticated("Invalid API key")
    services.api_key_mark_used(api_key=api_key)
    fields = {"identity": api_key.owner, "display_name": api_key.owner, "api_key": api_key.prefix}
    return AuthUser(fields, permissions=api_key.permissions)


def _api_key_in_thread(raw_key: str) -> Awaitable[AuthUser]:
    """The key lookup off the event loop, its connection released after (as the async edge does with its own
    database work)."""

    def call() -> AuthUser:
        close_old_connections()
        try:
            return _api_key_user(raw_key)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)()


def _scheme(custom: CustomAuth | None, parts: RequestParts) -> Scheme:
    if settings.API_KEYS_ENABLED:
        if parts.api_key:
            return Scheme.API_KEY
        if custom is None:
            raise Unauthenticated("Missing authentication headers")
    return Scheme.CUSTOM if custom is not None else Scheme.ANONYMOUS


def _parts(request: Mapping[str, Any]) -> RequestParts:
    return RequestParts(
        method=request["method"].upper(),
        path=request["path"],
        headers=_headers(request["headers"]),
        query_params=_query(request.get("query_params")),
        path_params=dict(request.get("path_params") or {}),
        request=request.get("request"),
        scope=request.get("scope"),
    )


def _plan(request: dict[str, Any]) -> tuple[Scheme, CustomAuth | None, RequestParts | None]:
    """Which scheme decides this request (module docstring), with what it needs; a missing key raises here."""
    if not authentication_enabled():
        return Scheme.ANONYMOUS, None, None
    custom, parts = get_custom_auth(), _parts(request)
    return _scheme(custom, parts), custom, parts


def authentication_enabled() -> bool:
    """False when nothing is configured: every caller is anonymous and nothing needs checking."""
    return settings.API_KEYS_ENABLED or get_custom_auth() is not None


async def authenticate_request(
    *,
    method: str,
    path: str,
    headers: HeadersInput,
    query_params: QueryInput = None,
    path_params: Mapping[str, str] | None = None,
    request: Any = None,
    scope: Mapping[str, Any] | None = None,
) -> AuthResult:
    """The caller of one HTTP request or websocket handshake (method "GET"); raises AccessError on refusal.

    `headers` may be an ASGI header list or any mapping (Django's request.headers); `request` and `scope`, when
    given, are what a handler declaring those parameters receives.
    """
    request_ = {"method": method, "path": path, "headers": headers, "query_params": query_params}
    scheme, custom, parts = _plan(request_ | {"path_params": path_params, "request": request, "scope": scope})
    if scheme is Scheme.API_KEY:
        return AuthResult(await _api_key_in_thread(parts.api_key), Scheme.API_KEY)
    return await _authenticate_custom(custom, parts) if scheme is Scheme.CUSTOM else ANONYMOUS_RESULT


def authenticate_request_sync(**request: Any) -> AuthResult:
    """authenticate_request (same keywords) for synchronous callers, e.g. a sync middleware or a DRF view's
    thread: the key lookup runs in the calling thread, a custom handler on the event loop."""
    inspect.signature(authenticate_request).bind(**request)  # the same keywords, or a TypeError
    scheme, custom, parts = _plan(request)
    if scheme is Scheme.API_KEY:
        return AuthResult(_api_key_user(parts.api_key), Scheme.API_KEY)
    return async_to_sync(_authenticate_custom)(custom, parts) if scheme is Scheme.CUSTOM else ANONYMOUS_RESULT
