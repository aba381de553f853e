"""The figures of the admin's front page: runs by status over the last hour and day, the queue, the workers,
recent failures and the next cron firings. Reads only; each block is shown to staff who may view its model."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse
from django.utils import timezone

from crons.models import Cron
from runs import stats
from runs.models import Run

WINDOWS = (("last hour", datetime.timedelta(hours=1)), ("last day", datetime.timedelta(days=1)))
NEXT_FIRINGS = 5


def runs_url(**filters: Any) -> str:
    """The run list filtered as the figure counted (the admin accepts lookups on the model's own fields)."""
    query = {key: v.isoformat() if isinstance(v, datetime.datetime) else v for key, v in filters.items()}
    return f"{reverse('admin:runs_run_changelist')}?{urlencode(query)}"


def _status_rows(now: datetime.datetime) -> list[dict[str, Any]]:
    rows = []
    for label, span in WINDOWS:
        since = now - span
        counts = stats.run_count_by_status(since=since)
        cells = [{"status": s, "count": n, "url": runs_url(status=s, created_at__gte=since)} for s, n in counts.items()]
        rows.append({"label": label, "cells": cells, "total": sum(counts.values())})
    return rows


def _run_figures(now: datetime.datetime) -> dict[str, Any]:
    queue = stats.run_queue(now=now)
    return {
        "statuses": Run.Status.values,
        "status_rows": _status_rows(now),
        "queue": queue,
        "oldest_pending_age": queue.oldest_age(now),
        "pending_url": runs_url(status=Run.Status.PENDING),
        "running_url": runs_url(status=Run.Status.RUNNING),
        "workers": stats.worker_list(now=now),
        "failures": stats.run_failures_recent(limit=10),
    }


def _cron_figures() -> dict[str, Any]:
    upcoming = (
        Cron.objects.filter(enabled=True, next_run_date__isnull=False)
        .select_related("assistant")
        .only("cron_id", "schedule", "timezone", "next_run_date", "thread_id", "assistant__name", "assistant__graph_id")
        .order_by("next_run_date")[:NEXT_FIRINGS]
    )
    return {"next_firings": list(upcoming)}


def dashboard_context(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    now = timezone.now()
    context: dict[str, Any] = {"now": now}
    if user.has_perm("runs.view_run"):
        context["runs"] = _run_figures(now)
    if user.has_perm("crons.view_cron"):
        context["crons"] = _cron_figures()
    if user.has_perm("access.view_apikey"):
        context["api_keys_url"] = reverse("admin:access_apikey_changelist")
    return context
