"""What the ASGI entry point serves around the API: the custom app of `http.app` (agentplatform.custom_app), its
lifespan (agentplatform.lifespan), and `http.mount_prefix` / MOUNT_PREFIX.

Under a mount prefix every route lives below it (the API, the custom app, /docs, /openapi.json, the admin and its
static files; Django knows it as FORCE_SCRIPT_NAME), and only the health checks `/`, `/ok`, `/ready` and `/metrics` also
answer at the root, as officially; anything else outside the prefix is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from agentplatform.custom_app import compose, get_custom_app
from agentplatform.http_options import http_options
from agentplatform.lifespan import Lifespan, run_with_daphne

ASGIApp = Callable[..., Any]
# Still at the root under a mount prefix: load balancers probe them there.
ROOT_PATHS = ("/", "/ok", "/ready", "/metrics")
_NOT_FOUND = b'{"detail": "Not Found"}'  # what the API answers for an unknown path (agentplatform.api_errors)


async def _not_found(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_NOT_FOUND)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": _NOT_FOUND})


async def _to_slash(scope: dict, send: Any) -> None:
    """The prefix itself redirects to the prefix and a slash, as Starlette's router answers the official's."""
    query = scope.get("query_string", b"")
    location = (scope["path"] + "/").encode() + (b"?" + query if query else b"")
    await send({"type": "http.response.start", "status": 307, "headers": [(b"location", location)]})
    await send({"type": "http.response.body", "body": b""})


def mounted(served: ASGIApp, api: ASGIApp, prefix: str | None) -> ASGIApp:
    """`served` below `prefix` (its scope's root_path says so), the API's health checks at the root."""
    if prefix is None:
        return served

    async def app(scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == prefix and scope["type"] == "http":
            await _to_slash(scope, send)
        elif path.startswith(prefix + "/"):
            await served({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
        elif scope["type"] == "http" and path in ROOT_PATHS:
            await api(scope, receive, send)
        else:
            await _not_found(scope, receive, send)

    return app


def with_lifespan(app: ASGIApp, lifespan: Lifespan) -> ASGIApp:
    """`app` behind the lifespan: lifespan events answered, requests held until the startup has run."""

    async def served(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan.serve(receive, send)
            return
        await lifespan.startup()
        await app(scope, receive, send)

    return served


def application(api: ASGIApp) -> ASGIApp:
    """The whole server: `api` (HTTP and websockets) with the custom app, its lifespan and the mount prefix."""
    custom = get_custom_app()
    served = api if custom is None else compose(custom, api, http_options())
    lifespan = Lifespan(None if custom is None else custom.lifespan)
    run_with_daphne(lifespan)
    return with_lifespan(mounted(served, api, settings.MOUNT_PREFIX), lifespan)
