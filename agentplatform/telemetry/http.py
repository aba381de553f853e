"""The API edge of telemetry, first in the API's middleware: each request gets its request id (the client's
`x-request-id`, else a new one) and the ids its URL names in the log context, a span when tracing is on, and is
counted by route pattern and status in /metrics. A few microseconds a request when tracing is off."""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from agentplatform.telemetry import context, metrics, tracing

# The URL parameters that name what a request is about, bound to the log context before the view runs.
_ID_PARAMS = ("run_id", "thread_id", "assistant_id", "cron_id")


def request_id_of(request: HttpRequest) -> str:
    return request.headers.get("x-request-id") or context.new_request_id()


def _route(request: HttpRequest) -> str | None:
    """The request's route pattern; a request refused before its URL was resolved (401, 413) is resolved here."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
    return match.route


def _observe(request: HttpRequest, response: HttpResponse, started: float, span: Any) -> None:
    route = metrics.route_label(_route(request))
    seconds = time.perf_counter() - started
    metrics.http_request_observe(method=request.method, path=route, status=response.status_code, seconds=seconds)
    tracing.server_span_finish(span, method=request.method, route=route, status=response.status_code)


class RequestTelemetryMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)
            self.process_view = self._aprocess_view  # on the event loop, not through a thread

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        token = context.bind(request_id=request_id_of(request))
        started = time.perf_counter()
        try:
            with tracing.server_span(request.method, request.headers) as span:
                response = self.get_response(request)
                _observe(request, response, started, span)
            return response
        finally:
            context.unbind(token)

    async def _acall(self, request: HttpRequest):
        token = context.bind(request_id=request_id_of(request))
        started = time.perf_counter()
        try:
            with tracing.server_span(request.method, request.headers) as span:
                response = await self.get_response(request)
                _observe(request, response, started, span)
            return response
        finally:
            context.unbind(token)

    def process_view(self, request: HttpRequest, view: Any, args: tuple, kwargs: dict) -> None:
        context.bind(**{name: kwargs[name] for name in _ID_PARAMS if name in kwargs})

    async def _aprocess_view(self, request: HttpRequest, view: Any, args: tuple, kwargs: dict) -> None:
        self.process_view(request, view, args, kwargs)
