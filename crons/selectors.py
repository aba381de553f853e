"""Reads of crons: get, search (official filters, sort and pagination) and count."""

from __future__ import annotations

import uuid

from django.db.models import F, QuerySet

from agentplatform.errors import NotFound
from agentplatform.ids import parse_uuid
from crons.models import Cron

CRON_SORT_FIELDS = ("cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at")
SORT_ORDERS = ("asc", "desc")


def cron_get(*, cron_id: str | uuid.UUID) -> Cron:
    """422 for a malformed id; the official generic 404 "Not Found" when absent."""
    cron = Cron.objects.filter(cron_id=parse_uuid(cron_id, "cron")).first()
    if cron is None:
        raise NotFound("Not Found")
    return cron


def _filtered(*, assistant_id: str | None, thread_id: str | None, metadata: dict | None) -> QuerySet[Cron]:
    crons = Cron.objects.all()
    if assistant_id:
        # A graph name is refused here (422), as on the official server.
        crons = crons.filter(assistant_id=parse_uuid(assistant_id, "assistant"))
    if thread_id:
        crons = crons.filter(thread_id=parse_uuid(thread_id, "thread"))
    if metadata:
        crons = crons.filter(metadata__contains=metadata)
    return crons


def cron_search(
    *,
    assistant_id: str | None = None,
    thread_id: str | None = None,
    enabled: bool | None = None,
    metadata: dict | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> tuple[list[Cron], bool]:
    """A page of crons and whether more exist; newest first by default, nulls sort as the oldest values."""
    crons = _filtered(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata)
    if enabled is not None:
        crons = crons.filter(enabled=enabled)
    field = F(sort_by or "created_at")
    descending = (sort_order or "desc") == "desc"
    order = field.desc(nulls_last=True) if descending else field.asc(nulls_first=True)
    page = list(crons.order_by(order, "cron_id")[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def cron_count(*, assistant_id: str | None = None, thread_id: str | None = None, metadata: dict | None = None) -> int:
    return _filtered(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata).count()
