"""Who is calling: the one place every entry point asks (HTTP API requests, DRF and async alike, and websocket
handshakes).

`request_identity` is the hook where authentication plugs in (`langgraph.json` `auth.path` with its
`@auth.authenticate`, built-in API keys). Until it does, every caller is anonymous. The callers keep the answer on
the request (`request.identity`, set by agentplatform.middleware.IdentityMiddleware) or on the websocket scope
(`scope["identity"]`, set by the consumer's handshake).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest
from django.http.request import HttpHeaders


@dataclass(frozen=True)
class Identity:
    """The caller as the graph and the resource filters will see it (official: `identity`, `permissions`)."""

    identity: str | None = None
    permissions: tuple[str, ...] = ()

    @property
    def is_authenticated(self) -> bool:
        return self.identity is not None


ANONYMOUS = Identity()


def request_identity(*, method: str, path: str, headers: Mapping[str, str]) -> Identity:
    """The caller of one request (`headers` looks names up case-insensitively). Authentication replaces this body;
    a refused caller will raise an ApplicationError subclass that the entry points answer as usual."""
    return ANONYMOUS


# Where an ASGI layer in front of Django (agentplatform.custom_app's gate) leaves the caller it already resolved.
SCOPE_KEY = "identity"


def http_identity(request: HttpRequest) -> Identity:
    known = getattr(request, "scope", {}).get(SCOPE_KEY)
    if known is not None:  # authenticated once per request, even when two layers ask
        return known
    return request_identity(method=request.method or "GET", path=request.path, headers=request.headers)


def scope_identity(scope: Mapping) -> Identity:
    """The caller of an ASGI connection (an HTTP request or a websocket handshake), from its raw headers."""
    meta = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    method = scope.get("method", "GET")
    return request_identity(method=method, path=scope.get("path", ""), headers=HttpHeaders(meta))


def websocket_identity(scope: Mapping) -> Identity:
    """The caller of a websocket handshake."""
    return scope_identity(scope)
