"""The one mapping from errors to `{"detail": ...}` responses, for DRF views, async endpoints and Django itself.

DRF views answer through `exception_handler` (settings REST_FRAMEWORK), async endpoints through `error_response`
(agentplatform.edge); both take the status and detail from `status_and_detail`, so an error reads the same
whichever kind of view raised it. Each keeps its own renderer, so the bytes on the wire stay what they were.
"""

from __future__ import annotations

import psycopg
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from agentplatform.errors import ApplicationError

# What the official server (Starlette) answers for a known path with a wrong method.
METHOD_NOT_ALLOWED = "Method Not Allowed"


def _first_message(detail: object) -> str:
    """DRF nests validation errors in dicts and lists; clients expect one readable string."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
        return "Invalid request."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid request."
    return str(detail)


def status_and_detail(exc: Exception) -> tuple[int, str] | None:
    """The status and `detail` an error is answered with, or None for an unexpected error (a 500)."""
    if isinstance(exc, ApplicationError):
        return exc.status_code, exc.detail
    if isinstance(exc, DjangoValidationError):
        return 422, "; ".join(exc.messages)
    if isinstance(exc, DataError | psycopg.DataError | OverflowError):
        # The database or datetime refused a value validation let through (out-of-range number, over-long string).
        return 422, f"Invalid value: {str(exc).splitlines()[0]}"
    if isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        # The database is unreachable or restarting (no connection within the pool's timeout): a retry may
        # succeed, which a 503 says and a 500 does not.
        return 503, "Database unavailable, retry later"
    if isinstance(exc, Http404):
        return 404, "Not Found"
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return 405, METHOD_NOT_ALLOWED
    if isinstance(exc, drf_exceptions.ParseError):
        return 422, "Invalid JSON in request body"
    if isinstance(exc, drf_exceptions.ValidationError):
        return 422, _first_message(exc.detail)
    if isinstance(exc, drf_exceptions.APIException):
        return exc.status_code, _first_message(exc.detail)
    return None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER."""
    mapped = status_and_detail(exc)
    return None if mapped is None else Response({"detail": mapped[1]}, status=mapped[0])


def json_error(status: int, detail: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def error_response(exc: Exception) -> JsonResponse | None:
    """The JSON answer for an error raised outside DRF, or None when it is unexpected (let Django log the 500)."""
    mapped = status_and_detail(exc)
    return None if mapped is None else json_error(*mapped)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # Django answers an unparseable form body or a suspicious request here, before any view runs.
    return json_error(400, "Bad Request")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "Forbidden")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "Not Found")


def handler500(request: HttpRequest) -> JsonResponse:
    return json_error(500, "An internal error occurred")
