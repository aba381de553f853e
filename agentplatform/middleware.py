"""Guards every API request passes before its view: body size and strictness, then the caller's identity."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from agentplatform import errors, jsonbody
from agentplatform.api_errors import json_error
from agentplatform.handlers import ADMIN_PREFIXES
from agentplatform.identity import http_identity


class _Guard:
    """A middleware that answers a request itself when `_refused` returns a response, in sync or async chains."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _refused(self, request) -> JsonResponse | None:
        raise NotImplementedError

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._refused(request) or self.get_response(request)

    async def _acall(self, request):
        return self._refused(request) or await self.get_response(request)


class BodySizeLimitMiddleware(_Guard):
    """Refuse a body larger than HTTP_MAX_REQUEST_BODY_BYTES by its Content-Length, with 413."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.limit = settings.HTTP_MAX_REQUEST_BODY_BYTES

    def _refused(self, request) -> JsonResponse | None:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header"}, status=400)
        if size > self.limit:
            return JsonResponse({"detail": f"Request body too large: limit is {self.limit} bytes"}, status=413)
        return None


class StrictInputMiddleware(_Guard):
    """Refuse, with 422, input that would pass a view but fail later: a NUL in the URL (Postgres text refuses it)
    or a JSON body Python parses but Postgres/orjson/UTF-8 do not (agentplatform.jsonbody).

    DRF views and async endpoints (agentplatform.edge.json_body) parse bodies their own way; checking once here
    covers them all.
    The API only speaks JSON, whatever the Content-Type says; the admin's form posts are left alone.
    """

    def _refused(self, request) -> JsonResponse | None:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return json_error(422, "The URL contains \\u0000, which is not supported")
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path_info.startswith("/admin/"):
            return None
        try:
            body = request.body
        except RequestDataTooBig:  # a chunked body has no Content-Length for BodySizeLimitMiddleware to check
            limit = settings.HTTP_MAX_REQUEST_BODY_BYTES
            return json_error(413, f"Request body too large: limit is {limit} bytes")
        if not body:
            return None
        try:
            jsonbody.loads(body)
        except errors.InvalidInput as exc:
            return json_error(exc.status_code, exc.detail)
        return None


class IdentityMiddleware(_Guard):
    """Resolve the caller once per API request, for DRF and async views alike (`request.identity`).

    Here rather than in each kind of view so that authentication, when it plugs into `request_identity`, covers
    every route, unknown ones included, as the official server's middleware does. The admin has its own login.
    """

    def _refused(self, request) -> JsonResponse | None:
        if request.path_info.startswith(ADMIN_PREFIXES):  # path_info: below http.mount_prefix
            return None
        try:
            request.identity = http_identity(request)
        except errors.ApplicationError as exc:
            return json_error(exc.status_code, exc.detail)
        return None
