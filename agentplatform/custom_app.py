"""The custom app of langgraph.json `http.app`: a Starlette (or FastAPI) app served beside the API on the same port,
assembled as the official server assembles it.

Precedence (the official's): `/ok`, `/metrics`, `/docs` and `/openapi.json` are always ours; then the custom app's
routes, which shadow every other route of ours (`/`, `/info` and the API alike); then ours. A request a custom
route matches by path but not by method goes on to ours too.

Middleware, by `http.middleware_order`:
- `middleware_first` (default): the app's own middleware wraps everything, our routes included, and authentication
  (the API's identity hook, agentplatform.identity) runs inside it: on the custom routes when
  `http.enable_custom_route_auth` is set, on ours as for any API request;
- `auth_first`: authentication comes first, then the app's middleware, on the custom routes (when
  `enable_custom_route_auth`) and on the API; the health, docs and metrics routes get the middleware but no
  authentication, as officially.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.schemas import BaseSchemaGenerator

from agentplatform import identity
from agentplatform.errors import ApplicationError
from agentplatform.graphs import get_registry
from agentplatform.handlers import admin_prefixes
from agentplatform.http_options import HttpOptions, http_options
from agentplatform.langgraph_config import ConfigError, import_target

logger = logging.getLogger(__name__)
ASGIApp = Callable[..., Any]

# Ours whatever the custom app says, then ours unless it says otherwise (the official's two lists).
UNSHADOWABLE = ("/ok", "/ready", "/metrics", "/docs", "/openapi.json")
SHADOWABLE = ("/", "/info")


@dataclass(frozen=True)
class CustomApp:
    target: str
    app: Starlette
    routes: tuple[BaseRoute, ...]  # the app's own, before compose() puts ours around them

    def lifespan(self) -> AbstractAsyncContextManager:
        """The app's lifespan context (startup and shutdown), as an ASGI server would enter it."""
        return self.app.router.lifespan_context(self.app)


def load_custom_app(target: str, base_dir: Path) -> CustomApp:
    """Import `target` ("./file.py:app", relative to langgraph.json, or "module:app"); a ConfigError says why not."""
    module_path, _, attr = target.rpartition(":")
    app = import_target(target, base_dir, what=f"http.app {target!r}", module_name="agentplatform_http_app")
    if app is None:
        raise ConfigError(f"http.app {target!r}: {module_path} has no attribute '{attr}'.")
    if not isinstance(app, Starlette):
        raise ConfigError(
            f"http.app {target!r} is a {type(app).__name__}, not a Starlette or FastAPI application: "
            "create it with `app = Starlette(routes=[...])` (or `app = FastAPI()`)."
        )
    return CustomApp(target=target, app=app, routes=tuple(app.router.routes))


@functools.cache
def get_custom_app() -> CustomApp | None:
    """The process's custom app, imported once, at start-up (agentplatform.asgi, manage.py check)."""
    target = http_options().app
    if target is None:
        return None
    # The registry applies langgraph.json `env` and `dependencies` first: the app may import from them.
    return load_custom_app(target, get_registry().config.base_dir)


# --- assembly ------------------------------------------------------------------------------------------------------


def _route_path(scope: dict) -> str:
    return scope.get("path", "").removeprefix(scope.get("root_path", ""))


async def _refuse(exc: ApplicationError, scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})  # what Starlette's auth middleware sends
        return
    response = JSONResponse({"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None))
    await response(scope, receive, send)


class IdentityGate:
    """The API's authentication in front of routes the Django middleware does not reach: a caller the identity hook
    refuses gets the status and `detail` the API answers; an accepted one is `request.user` (and `request.auth`
    its permissions), as the official server's auth middleware leaves them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or _route_path(scope).startswith(admin_prefixes()):
            await self.app(scope, receive, send)
            return
        try:
            caller = await sync_to_async(identity.scope_identity)(scope)
        except ApplicationError as exc:
            await _refuse(exc, scope, receive, send)
            return
        scope[identity.SCOPE_KEY] = scope["user"] = caller
        scope["auth"] = AuthCredentials(list(getattr(caller, "permissions", ())))
        await self.app(scope, receive, send)


def _wrapped(routes: list[BaseRoute], middleware: list[Middleware]) -> list[BaseRoute]:
    """The routes with `middleware` around each one's app, the first outermost (applied after routing)."""
    for route in routes:
        for cls, args, kwargs in reversed(middleware):
            route.app = cls(route.app, *args, **kwargs)
    return routes


class _Asgi:
    """An ASGI app as a Route endpoint: Starlette takes a plain function for a request handler instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _ours(paths: tuple[str, ...], api: ASGIApp) -> list[BaseRoute]:
    return [Route(path, _Asgi(api), methods=["GET"]) for path in paths]


def compose(custom: CustomApp, api: ASGIApp, options: HttpOptions) -> Starlette:
    """The custom app with our routes merged in (its object, changed in place, as officially)."""
    app, own_middleware = custom.app, list(custom.app.user_middleware)
    auth_first = options.middleware_order == "auth_first"
    gate = [Middleware(IdentityGate)]
    route_middleware = own_middleware if auth_first else []
    custom_routes_middleware = (gate if options.enable_custom_route_auth else []) + route_middleware
    unshadowable, shadowable = ((), ("/ok",)) if "meta" in options.disabled else (UNSHADOWABLE, SHADOWABLE)
    app.router.routes = [
        *_wrapped(_ours(unshadowable, api), route_middleware),
        *_wrapped(list(custom.routes), custom_routes_middleware),
        *_wrapped(_ours(shadowable, api), route_middleware),
        Mount("", app=api, middleware=gate + route_middleware if auth_first else []),
    ]
    app.user_middleware = [] if auth_first else own_middleware
    app.middleware_stack = None  # built again on the next call, should the app have served a request already
    return app


# --- OpenAPI -------------------------------------------------------------------------------------------------------


def _documented(endpoint: Any, generator: BaseSchemaGenerator) -> dict:
    try:
        operation = generator.parse_docstring(endpoint.func)
    except Exception:  # noqa: BLE001 - a docstring that is not YAML still documents the route, as text
        operation = {"description": endpoint.func.__doc__ or ""}
    # The official leaves an undocumented route's entry empty; an OpenAPI 3.0 operation needs responses, and the
    # document generator an operationId (FastAPI's pattern: name, path, method).
    operation.setdefault("responses", {"default": {"description": "Response of the custom route"}})
    name = re.sub(r"\W", "_", f"{endpoint.func.__name__}{endpoint.path}_{endpoint.http_method}")
    operation.setdefault("operationId", name)
    return operation


def custom_openapi(custom: CustomApp) -> dict:
    """The custom app's part of /openapi.json: FastAPI's own document, or for a Starlette app each route and method
    with the YAML of its docstring (after `---`), as the official server documents them."""
    if callable(getattr(custom.app, "openapi", None)):  # FastAPI: only its own APIRoutes are in it
        return custom.app.openapi()
    generator = BaseSchemaGenerator()
    paths: dict[str, dict] = {}
    for endpoint in generator.get_endpoints(list(custom.routes)):
        paths.setdefault(endpoint.path, {})[endpoint.http_method] = _documented(endpoint, generator)
    return {"paths": paths}


def merge_openapi(ours: dict, theirs: dict) -> dict:
    """`theirs` over `ours`, method by method, as the official merges a custom app's document: its operations win
    on a shared path and method, its components, tags and info are added (theirs win a name both use)."""
    for path, methods in theirs.get("paths", {}).items():
        ours.setdefault("paths", {}).setdefault(path, {}).update(methods)
    for kind, entries in theirs.get("components", {}).items():
        ours.setdefault("components", {}).setdefault(kind, {}).update(entries)
    tags = {tag["name"]: tag for tag in [*ours.get("tags", []), *theirs.get("tags", [])]}
    if tags:
        ours["tags"] = list(tags.values())
    if "info" in theirs:
        ours["info"] = {**ours.get("info", {}), **theirs["info"]}
    return ours
