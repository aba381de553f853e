"""Guards every API request passes before its view: body size and strictness, cross-site requests, then the
caller's identity."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from agentplatform import cors, errors, jsonbody
from agentplatform.api_errors import json_error
from agentplatform.handlers import admin_prefixes
from agentplatform.http_options import route_group
from agentplatform.identity import http_identity, http_identity_sync

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# JSON-RPC endpoints answer a body that is not JSON themselves, in their protocol's words (a parse error).
JSON_RPC_GROUPS = ("mcp", "a2a")


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
    The API only speaks JSON: a body, or any Content-Type, must be `application/json` (415 otherwise, DRF's
    wording). The official server reads JSON whatever the type says, which lets a page on any site POST a run as
    `text/plain`, a type browsers send cross-site without asking the server first. The admin's forms are left alone.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.admin = admin_prefixes()

    def _refused(self, request) -> JsonResponse | None:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return json_error(422, "The URL contains \\u0000, which is not supported")
        if request.method in SAFE_METHODS or request.path_info.startswith(self.admin):
            return None
        try:
            body = request.body
        except RequestDataTooBig:  # a chunked body has no Content-Length for BodySizeLimitMiddleware to check
            limit = settings.HTTP_MAX_REQUEST_BODY_BYTES
            return json_error(413, f"Request body too large: limit is {limit} bytes")
        content_type = request.META.get("CONTENT_TYPE", "")
        if (body or content_type) and content_type.partition(";")[0].strip().lower() != "application/json":
            return json_error(415, f'Unsupported media type "{content_type}" in request.')
        if not body or route_group(request.path_info) in JSON_RPC_GROUPS:
            return None
        try:
            jsonbody.loads(body)
        except errors.InvalidInput as exc:
            return json_error(exc.status_code, exc.detail)
        return None


class OriginGuardMiddleware(_Guard):
    """Refuse (403) a state-changing request sent by a browser page from an origin the CORS settings do not allow.

    Browsers send such requests without asking first when they carry no body or a form type, and CORS only hides
    the answer from the page, after the server has acted (cancelled a run, copied a thread). Clients outside a
    browser send no Origin and are not concerned; the admin has Django's CSRF protection.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.admin = admin_prefixes()

    def _refused(self, request) -> JsonResponse | None:
        origin = request.headers.get("Origin")
        if origin is None or request.method in SAFE_METHODS or request.path_info.startswith(self.admin):
            return None
        if cors.origin_allowed(origin, host=request.get_host()):
            return None
        return json_error(403, f"Origin {origin} is not allowed; add it to CORS_ALLOW_ORIGINS or http.cors.")


def _refusal(exc: errors.ApplicationError) -> JsonResponse:
    return json_error(exc.status_code, exc.detail, headers=getattr(exc, "headers", None) or None)


class IdentityMiddleware(_Guard):
    """Resolve the caller once per API request, for DRF and async views alike (`request.identity`).

    Here rather than in each kind of view so that authentication covers every route, unknown ones included, as
    the official server's middleware does; a refused caller never reaches a view, so nothing is written. The
    admin has its own login. Async chains authenticate on the event loop (agentplatform.identity.http_identity).
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.admin = admin_prefixes()

    def _refused(self, request) -> JsonResponse | None:
        if request.path_info.startswith(self.admin):  # path_info: below http.mount_prefix
            return None
        try:
            request.identity = http_identity_sync(request)
        except errors.ApplicationError as exc:
            return _refusal(exc)
        return None

    async def _acall(self, request):
        if not request.path_info.startswith(self.admin):
            try:
                request.identity = await http_identity(request)
            except errors.ApplicationError as exc:
                return _refusal(exc)
        return await self.get_response(request)
