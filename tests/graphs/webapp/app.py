"""A custom app as the official documentation writes one (custom routes, middleware, lifespan), in Starlette,
which the official server ships. langgraph_http_app.json and langgraph_http_prefix.json name it as `http.app`."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app: Starlette):
    app.state.started = True  # e.g. a database engine, opened once at startup
    yield
    marker = os.environ.get("WEBAPP_SHUTDOWN_MARKER")
    if marker:
        Path(marker).write_text("shut down")


async def hello(request: Request) -> JSONResponse:
    """Greets the caller.
    ---
    responses:
      "200":
        description: A greeting.
    """
    return JSONResponse({"Hello": "World", "started": request.app.state.started})


async def undocumented(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "root_path": request.scope.get("root_path", "")})


async def search_assistants(request: Request) -> JSONResponse:
    """Shadows POST /assistants/search of the API: custom routes win."""
    return JSONResponse([{"assistant_id": "from-the-custom-app"}])


async def info(request: Request) -> JSONResponse:
    return JSONResponse({"custom": "info"})


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"custom": "ok"})  # never served: /ok stays the server's


class CustomHeaderMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["X-Custom-Header"] = "Hello from middleware!"
        return response


app = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/where", undocumented, methods=["GET", "POST"]),
        Route("/assistants/search", search_assistants, methods=["POST"]),
        Route("/info", info),
        Route("/ok", ok),
    ],
    middleware=[Middleware(CustomHeaderMiddleware)],
    lifespan=lifespan,
)
