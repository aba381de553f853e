"""ASGI-level guards that must act before Django reads a request body."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import JsonResponse


class BodySizeLimitMiddleware:
    """Refuse a body larger than HTTP_MAX_REQUEST_BODY_BYTES by its Content-Length, with 413."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = settings.HTTP_MAX_REQUEST_BODY_BYTES
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _too_large(self, request) -> JsonResponse | None:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header"}, status=400)
        if size > self.limit:
            return JsonResponse({"detail": f"Request body too large: limit is {self.limit} bytes"}, status=413)
        return None

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._too_large(request) or self.get_response(request)

    async def _acall(self, request):
        return self._too_large(request) or await self.get_response(request)
