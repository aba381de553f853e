"""Health, server info and metrics endpoints."""

from __future__ import annotations

from functools import wraps
from importlib.metadata import version

from django.db import connection
from django.http import HttpResponse, JsonResponse

import agentplatform
from agentplatform.api_errors import json_error


def get_only(view):
    """Like Django's require_GET, but the 405 carries the JSON `{"detail"}` body every endpoint answers."""

    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return json_error(405, f'Method "{request.method}" not allowed.')
        return view(request, *args, **kwargs)

    return wraps(view)(wrapper)


@get_only
def ok(request) -> JsonResponse:
    if request.GET.get("check_db") in ("1", "true"):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return JsonResponse({"ok": False, "detail": f"database unavailable: {exc}"}, status=500)
    return JsonResponse({"ok": True})


@get_only
def info(request) -> JsonResponse:
    return JsonResponse(
        {
            "version": agentplatform.__version__,
            "langgraph_py_version": version("langgraph"),
            "flags": {"assistants": True, "crons": True, "langsmith": False, "store": True},
            "host": {"kind": "self-hosted", "project_id": None, "revision_id": None, "tenant_id": None},
        }
    )


@get_only
def metrics(request) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
