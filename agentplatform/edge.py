"""The edge of every async endpoint (wait, join, cancel, streams, system routes): plain async Django views,
outside DRF, that share one method check, one body rule, one query rule, one error mapping and one way to run
database work and on-disconnect actions.

The caller's identity is resolved before any view, by agentplatform.middleware.IdentityMiddleware
(`request.identity`), for these endpoints and DRF views alike.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.renderers import JSONRenderer

from agentplatform import jsonbody
from agentplatform.api_errors import METHOD_NOT_ALLOWED, error_response, json_error, status_and_detail
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import InvalidInput
from agentplatform.telemetry.context import current_request_id

if TYPE_CHECKING:
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)
AsyncView = Callable[..., Awaitable[HttpResponse]]
_TRUE = ("1", "true", "yes")  # what the official server accepts for a boolean query parameter


def async_endpoint(*methods: str) -> Callable[[AsyncView], AsyncView]:
    """Serve `methods` only, answer our errors with `{"detail": ...}`, and skip CSRF as DRF does (no sessions).

    A wrong method gets what the official server (Starlette) answers: 405 `{"detail": "Method Not Allowed"}`
    with an `Allow` header.
    """
    allow = ", ".join(methods)

    def decorate(view: AsyncView) -> AsyncView:
        @functools.wraps(view)
        async def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return json_error(405, METHOD_NOT_ALLOWED, headers={"Allow": allow})
            try:
                return await view(request, *args, **kwargs)
            except Exception as exc:
                response = error_response(exc)
                if response is None:
                    raise
                return response

        return csrf_exempt(endpoint)

    return decorate


# Accept headers DRF's content negotiation answers with its JSON renderer as it is (no `indent=` parameter).
_PLAIN_ACCEPT = (None, "", "*/*", "application/json")


def drf_twin(drf_view: type[APIView], method: str) -> Callable[[AsyncView], AsyncView]:
    """An async endpoint for `method` of a route `drf_view` serves, answering byte for byte as that view would.

    For the hot routes (a run create): DRF's dispatch (request wrapper, negotiation, parsing the body again,
    rendering) and the hop of a whole sync view to a thread cost about as much as the service they call. The
    twin renders as DRF's JSON renderer does, with the view's `Allow` header, and hands everything else (other
    methods, unusual Accept headers, `?format=`) to the DRF view itself. drf-spectacular documents it as the
    DRF view (`cls`).
    """
    sync_view = sync_to_async(drf_view.as_view())  # thread-sensitive, as Django runs a sync view
    allow = _allowed_methods(drf_view)

    def decorate(view: AsyncView) -> AsyncView:
        @functools.wraps(view)
        async def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (
                request.method != method
                or request.headers.get("Accept") not in _PLAIN_ACCEPT
                or "format" in request.GET
            ):
                return await sync_view(request, *args, **kwargs)
            try:
                response = await view(request, *args, **kwargs)
            except Exception as exc:
                mapped = status_and_detail(exc)
                if mapped is None:
                    raise
                response = drf_json({"detail": mapped[1]}, status=mapped[0])
            response["Allow"] = allow
            return response

        endpoint.cls, endpoint.initkwargs = drf_view, {}
        return csrf_exempt(endpoint)

    return decorate


def _allowed_methods(drf_view: type[APIView]) -> str:
    """The `Allow` header of a DRF view: its methods, HEAD too where it has GET (as Django's View.setup adds)."""
    view = drf_view()
    if hasattr(view, "get") and not hasattr(view, "head"):
        view.head = view.get
    return ", ".join(view.allowed_methods)


def drf_json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """`data` rendered as the DRF views render it (compact JSON, `application/json`)."""
    return HttpResponse(JSONRenderer().render(data), status=status, content_type="application/json", headers=headers)


def drf_body(request: HttpRequest) -> Any:
    """The body as a DRF view's `request.data` holds it: parsed JSON, `{}` when empty (its type is the caller's
    to check)."""
    return jsonbody.loads(request.body) if request.body else {}


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object, parsed by the strict rules StrictInputMiddleware already checked.

    An empty body is not an object: a create request always names at least its assistant.
    """
    body = jsonbody.loads(request.body) if request.body else None
    if not isinstance(body, dict):
        raise InvalidInput("Request body must be a JSON object")
    return body


def query_flag(request: HttpRequest, name: str, default: bool | None = False) -> bool | None:
    """A boolean query parameter: true for 1/true/yes (any case), `default` when absent, false otherwise.

    DRF views pass their Request too (it proxies `GET`): every endpoint parses flags this one way."""
    raw = request.GET.get(name)
    return default if raw is None else raw.lower() in _TRUE


def request_headers(request: HttpRequest) -> dict[str, str]:
    """The request's headers with lower-case names, as graphs see them (agentplatform.run_headers filters them)."""
    return {name.lower(): value for name, value in request.headers.items()}


def graph_request(request: HttpRequest) -> dict[str, Any]:
    """What a graph factory sees of a request that builds a graph (state reads and updates, the graph and schema
    endpoints): its headers and its caller, as the `headers` and `user` keywords of the service or selector."""
    return {"headers": request_headers(request), "user": getattr(request, "identity", None)}


def run_headers(request: HttpRequest) -> dict[str, str]:
    """request_headers, plus an `x-request-id` made up when the client sent none (the run's
    `langgraph_request_id`), as the official server's request-id middleware does: the one the request's log lines
    carry (agentplatform.telemetry.http)."""
    headers = request_headers(request)
    headers.setdefault("x-request-id", current_request_id() or str(uuid.uuid4()))
    return headers


def on_disconnect(action: Callable[..., object], /, **kwargs: Any) -> Callable[[], Awaitable[None]]:
    """What a long response runs when its client leaves early: `action(**kwargs)`, database work on a worker
    thread. A failure is logged: the response is closing and has nobody left to tell."""

    async def run() -> None:
        try:
            await in_worker_thread(action)(**kwargs)
        except Exception:
            logger.exception("on-disconnect %s(%s) failed", getattr(action, "__name__", action), kwargs)

    return run
