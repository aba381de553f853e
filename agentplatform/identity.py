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


def http_identity(request: HttpRequest) -> Identity:
    return request_identity(method=request.method or "GET", path=request.path, headers=request.headers)


def websocket_identity(scope: Mapping) -> Identity:
    """The caller of a websocket handshake, from the ASGI scope's raw headers."""
    meta = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    return request_identity(method="GET", path=scope.get("path", ""), headers=HttpHeaders(meta))
