"""The application's error types and the one place that turns errors into `{"detail": ...}` responses."""

from __future__ import annotations

import psycopg
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ApplicationError):
    status_code = 422


class BadRequest(ApplicationError):
    status_code = 400


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409


class ServiceUnavailable(ApplicationError):
    status_code = 503


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


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.detail}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": "; ".join(exc.messages)}, status=422)
    if isinstance(exc, DataError | psycopg.DataError | OverflowError):
        # The database or datetime refused a value validation let through (out-of-range number, over-long string).
        return Response({"detail": f"Invalid value: {str(exc).splitlines()[0]}"}, status=422)
    if isinstance(exc, Http404):
        return Response({"detail": "Not Found"}, status=404)
    if isinstance(exc, drf_exceptions.ParseError):
        return Response({"detail": "Invalid JSON in request body"}, status=422)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response({"detail": _first_message(exc.detail)}, status=422)
    if isinstance(exc, drf_exceptions.APIException):
        return Response({"detail": _first_message(exc.detail)}, status=exc.status_code)
    return None


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def handler400(request, exception=None) -> JsonResponse:
    # Django answers an unparseable form body or a suspicious request here, before any view runs.
    return json_error(400, "Bad Request")


def handler403(request, exception=None) -> JsonResponse:
    return json_error(403, "Forbidden")


def handler404(request, exception=None) -> JsonResponse:
    return json_error(404, "Not Found")


def handler500(request) -> JsonResponse:
    return json_error(500, "An internal error occurred")
