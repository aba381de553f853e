"""Health, server info and metrics endpoints."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from importlib.metadata import version

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

import agentplatform
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import async_endpoint, query_flag
from agentplatform.redis_clients import sync_redis
from agentplatform.telemetry import metrics as telemetry_metrics

logger = logging.getLogger(__name__)
# A dependency that has not answered within this is unavailable, for the readiness probe (kept below its timeout).
READY_TIMEOUT_SECS = 2.0


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


def _ping_redis() -> None:
    sync_redis().ping()


_DEPENDENCIES = {"database": _select_one, "redis": _ping_redis}


@async_endpoint("GET", "HEAD")
async def ready(request: HttpRequest) -> JsonResponse:
    """Readiness (a Kubernetes readinessProbe): 200 when the database and Redis answer, 503 naming which do not.
    `/ok` stays the liveness check: the process is up, whatever its dependencies say (restarting an API process
    would not bring a database back)."""
    failed = []
    for name, check in _DEPENDENCIES.items():
        try:
            await asyncio.wait_for(in_worker_thread(check)(), READY_TIMEOUT_SECS)
        except Exception:
            # Open to anyone like /ok: the reason (hosts, users, driver messages) goes to the log only.
            logger.warning("readiness check: %s unavailable", name, exc_info=True)
            failed.append(name)
    if failed:
        return JsonResponse({"ok": False, "detail": f"{' and '.join(failed)} unavailable"}, status=503)
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


# The sections of /metrics?format=json; an app adds its own in AppConfig.ready (runs: the queue and workers).
MetricsSection = Callable[[], dict]
_metrics_sections: list[MetricsSection] = []


def metrics_section_register(section: MetricsSection) -> None:
    if section not in _metrics_sections:
        _metrics_sections.append(section)


def _metrics_json() -> dict:
    merged: dict = {}
    for section in _metrics_sections:
        merged.update(section())
    return merged


@async_endpoint("GET", "HEAD")
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text, or with `format=json` the official JSON snapshot; another format means Prometheus."""
    if request.GET.get("format") == "json":
        return JsonResponse(await in_worker_thread(_metrics_json)())
    body = await in_worker_thread(telemetry_metrics.exposition)()
    return HttpResponse(body, content_type=telemetry_metrics.CONTENT_TYPE)
