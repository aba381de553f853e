"""A custom HTTP app written as the official documentation writes it (Starlette): a route of its own, a middleware
that wraps the API too, and a lifespan."""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    app.state.greeting = "hello from the lifespan"
    yield


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"identity": request.user.identity, "greeting": request.app.state.greeting})


class CustomHeaderMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["X-Custom-Header"] = "Hello from middleware!"
        return response


app = Starlette(routes=[Route("/whoami", whoami)], lifespan=lifespan)
app.add_middleware(CustomHeaderMiddleware)
