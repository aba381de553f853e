"""Reads of crons: get, search (official filters, sort and pagination) and count.

`user` (None: the server) is asked about with the official `@auth.on.crons` event; crons outside its filter are
absent, answering exactly as unknown ids. Search and count also hide crons on threads the user cannot see.
"""

from __future__ import annotations

import uuid

from django.db.models import F, Q, QuerySet

from access.authorization import authorize_sync, authorized
from access.users import AuthUser
from agentplatform.errors import NotFound
from agentplatform.ids import parse_uuid
from crons.models import Cron

CRON_SORT_FIELDS = ("cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at")
SORT_ORDERS = ("asc", "desc")


def crons_authorized(*, user: AuthUser | None, action: str, value: dict) -> QuerySet[Cron]:
    """The crons `user` may `action` (read, update, delete, search), as its auth handler filters them."""
    return authorized(Cron.objects.all(), resource="crons", action=action, value=value, user=user)


def cron_get(*, cron_id: str | uuid.UUID, user: AuthUser | None = None, action: str = "read") -> Cron:
    """422 for a malformed id; the official generic 404 "Not Found" when absent."""
    pk = parse_uuid(cron_id, "cron")
    cron = crons_authorized(user=user, action=action, value={"cron_id": pk}).filter(cron_id=pk).first()
    if cron is None:
        raise NotFound("Not Found")
    return cron


def _on_visible_threads(crons: QuerySet[Cron], *, thread_id: str | None, user: AuthUser | None) -> QuerySet[Cron]:
    """As officially, a cron on a thread is listed only if the user may see that thread."""
    value, action = ({"thread_id": thread_id}, "read") if thread_id else ({}, "search")
    thread_filter = authorize_sync(resource="threads", action=action, value=value, user=user)
    if thread_filter is None:
        return crons
    return crons.filter(Q(thread__isnull=True) | thread_filter.q("thread__metadata"))


def _filtered(
    *, assistant_id: str | None, thread_id: str | None, metadata: dict | None, user: AuthUser | None, page: tuple
) -> QuerySet[Cron]:
    value = {"assistant_id": assistant_id, "thread_id": thread_id, "limit": page[0], "offset": page[1]}
    crons = crons_authorized(user=user, action="search", value={**value, "metadata": metadata or {}})
    crons = _on_visible_threads(crons, thread_id=thread_id, user=user)
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
    user: AuthUser | None = None,
) -> tuple[list[Cron], bool]:
    """A page of crons and whether more exist; newest first by default, nulls sort as the oldest values."""
    page = (limit, offset)
    crons = _filtered(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata, user=user, page=page)
    if enabled is not None:
        crons = crons.filter(enabled=enabled)
    field = F(sort_by or "created_at")
    descending = (sort_order or "desc") == "desc"
    order = field.desc(nulls_last=True) if descending else field.asc(nulls_first=True)
    page = list(crons.order_by(order, "cron_id")[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def cron_count(
    *,
    assistant_id: str | None = None,
    thread_id: str | None = None,
    metadata: dict | None = None,
    user: AuthUser | None = None,
) -> int:
    page = (0, 0)
    return _filtered(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata, user=user, page=page).count()
