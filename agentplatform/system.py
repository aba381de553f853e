"""Health, server info and metrics endpoints."""

from __future__ import annotations

import functools
import logging
from importlib.metadata import version

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

import agentplatform
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import async_endpoint, query_flag

logger = logging.getLogger(__name__)


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@async_endpoint("GET", "HEAD")
async def ok(request: HttpRequest, disabled: bool = False) -> JsonResponse:
    # disabled: http.disable_meta, where the official keeps /ok so operators see the server is up, unchecked.
    if not disabled and query_flag(request, "check_db"):
        try:
            await in_worker_thread(_select_one)()
        except Exception:
            # /ok is open to anyone: the reason (host names, users, driver messages) goes to the log only.
            logger.warning("health check: the database is unavailable", exc_info=True)
            return JsonResponse({"ok": False, "detail": "database unavailable"}, status=500)
    return JsonResponse({"ok": True})


@functools.cache
def _info() -> dict:
    # Looked up once: reading package metadata touches the disk, and this runs on the event loop.
    return {
        "version": agentplatform.__version__,
        "langgraph_py_version": version("langgraph"),
        "flags": {"assistants": True, "crons": True, "langsmith": False, "store": True},
        "host": {"kind": "self-hosted", "project_id": None, "revision_id": None, "tenant_id": None},
    }


@async_endpoint("GET", "HEAD")
async def info(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_info())


@async_endpoint("GET", "HEAD")
async def metrics(request: HttpRequest) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
