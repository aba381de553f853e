"""Reads of runs. Every read goes through here so that ownership is one filter in one place: runs are resources
of their thread (official: `@auth.on.threads`), so a run is visible to `user` when its thread is."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from access.authorization import authorized
from access.users import AuthUser
from agentplatform.errors import InvalidInput, NotFound
from agentplatform.ids import parse_uuid
from runs.models import Run, shown_status_filter
from threads.selectors import thread_get

MAX_PAGE = 1000


def runs_authorized(*, user: AuthUser | None, action: str, value: dict) -> QuerySet[Run]:
    """The runs on threads `user` may `action` (their thread's auth handler filters them)."""
    runs = Run.objects.all()
    return authorized(runs, resource="threads", action=action, value=value, user=user, field="thread__metadata")


def run_get(*, thread_id: str | uuid.UUID, run_id: str | uuid.UUID, user: AuthUser | None = None) -> Run:
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    visible = runs_authorized(user=user, action="read", value={"thread_id": thread_pk})
    run = visible.filter(run_id=run_pk, thread_id=thread_pk).first()
    if run is None:
        raise NotFound("Run not found")
    return run


def run_exists(*, thread_id: uuid.UUID, run_id: uuid.UUID, user: AuthUser | None = None) -> bool:
    """Whether the run is there for `user` to join (read its thread)."""
    visible = runs_authorized(user=user, action="read", value={"thread_id": thread_id})
    return visible.filter(run_id=run_id, thread_id=thread_id).exists()


def run_get_by_id(*, run_id: str | uuid.UUID, user: AuthUser | None = None) -> Run | None:
    pk = parse_uuid(run_id, "run")
    return runs_authorized(user=user, action="read", value={"thread_id": None}).filter(run_id=pk).first()


def run_list(
    *,
    thread_id: str | uuid.UUID,
    limit: int = 10,
    offset: int = 0,
    status: str | None = None,
    user: AuthUser | None = None,
) -> list[Run]:
    """A thread's runs, newest first; 404 if the thread does not exist (or is not the user's to search)."""
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE} and offset must not be negative")
    thread = thread_get(thread_id=thread_id, user=user, action="search", value={"metadata": {}})
    queryset = Run.objects.filter(thread=thread)
    if status:
        if status not in Run.Status.values:
            raise InvalidInput(f"Invalid status '{status}'. Must be one of: {', '.join(Run.Status.values)}")
        queryset = queryset.filter(shown_status_filter(status))
    return list(queryset.order_by("-created_at", "-run_id")[offset : offset + limit])
