"""Who is calling: the one place every entry point asks (HTTP API requests, DRF and async alike, and websocket
handshakes).

The wiring imports no app, so authentication plugs in here: the access app registers its authenticator in its
AppConfig.ready() (`authenticator_register`), and the entry points ask through `http_identity` (async),
`http_identity_sync` and `websocket_identity`. What they get back is the authenticator's user, kept on the request
(`request.identity`, set by agentplatform.middleware.IdentityMiddleware) or on the websocket scope
(`scope["identity"]`); a refused caller raises an ApplicationError subclass that the entry point answers as usual.
With no authenticator registered every request fails: a server that cannot tell who calls serves nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from agentplatform import cors
from agentplatform.errors import ApplicationError


class OriginRefused(ApplicationError):
    """A browser page from an origin the server does not allow (CORS settings) opened a websocket."""

    status_code = 403


@dataclass(frozen=True)
class Authenticator:
    """`authenticate(**parts)` and its synchronous twin; parts are method, path, headers (ASGI list or mapping),
    query_params (raw query string) and scope (None outside ASGI)."""

    authenticate: Callable[..., Awaitable[Any]]
    authenticate_sync: Callable[..., Any]


_registered: list[Authenticator] = []


def authenticator_register(*, authenticate: Callable[..., Awaitable[Any]], authenticate_sync: Callable[..., Any]):
    """Install the authenticator (the last registration wins: tests may swap it)."""
    _registered[:] = [Authenticator(authenticate, authenticate_sync)]


def _authenticator() -> Authenticator:
    if not _registered:
        raise ImproperlyConfigured("No authenticator is registered: keep 'access' in INSTALLED_APPS.")
    return _registered[0]


def _http_parts(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "scope", None)  # ASGI requests keep theirs, with the raw header list
    return {
        "method": request.method or "GET",
        "path": request.path,
        "headers": scope["headers"] if scope is not None else request.headers,
        "query_params": request.META.get("QUERY_STRING", ""),
        "scope": scope,
    }


# Where an ASGI layer in front of Django (agentplatform.custom_app's gate) leaves the caller it already resolved.
SCOPE_KEY = "identity"


def _known(request: HttpRequest) -> Any:
    return (getattr(request, "scope", None) or {}).get(SCOPE_KEY)


async def http_identity(request: HttpRequest) -> Any:
    known = _known(request)  # authenticated once per request, even when two layers ask
    return known if known is not None else await _authenticator().authenticate(**_http_parts(request))


def http_identity_sync(request: HttpRequest) -> Any:
    known = _known(request)
    return known if known is not None else _authenticator().authenticate_sync(**_http_parts(request))


def scope_identity(scope: Mapping) -> Any:
    """The caller of an ASGI HTTP request, from its scope (the custom app's gate, before Django sees it)."""
    return _authenticator().authenticate_sync(
        method=scope.get("method", "GET"),
        path=scope.get("path", ""),
        headers=scope.get("headers", []),
        query_params=scope.get("query_string", b""),
        scope=scope,
    )


def _header(scope: Mapping, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def websocket_identity(scope: Mapping) -> Any:
    """The caller of a websocket handshake. A browser always sends `Origin`: one the CORS settings do not allow
    is refused (a page elsewhere must not use the visitor's network position or credentials); clients that send
    none are not browsers."""
    origin = _header(scope, b"origin")
    if origin is not None and not cors.origin_allowed(origin, host=_header(scope, b"host")):
        raise OriginRefused(f"Origin {origin} is not allowed; add it to CORS_ALLOW_ORIGINS or http.cors.")
    path = scope.get("path", "")
    return await _authenticator().authenticate(
        method="GET",
        path=path,
        headers=scope.get("headers", []),
        query_params=scope.get("query_string", b""),
        scope=scope,
    )
