"""Health, server info and metrics endpoints."""

from __future__ import annotations

from importlib.metadata import version

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

import agentplatform


@require_GET
def ok(request) -> JsonResponse:
    if request.GET.get("check_db") in ("1", "true"):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return JsonResponse({"ok": False, "detail": f"database unavailable: {exc}"}, status=500)
    return JsonResponse({"ok": True})


@require_GET
def info(request) -> JsonResponse:
    return JsonResponse(
        {
            "version": agentplatform.__version__,
            "langgraph_py_version": version("langgraph"),
            "flags": {"assistants": True, "crons": True, "langsmith": False, "store": True},
            "host": {"kind": "self-hosted", "project_id": None, "revision_id": None, "tenant_id": None},
        }
    )


@require_GET
def metrics(request) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
