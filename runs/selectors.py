"""Reads of runs. Every read goes through here so that ownership (auth, later) is one filter in one place."""

from __future__ import annotations

import uuid

from agentplatform.errors import InvalidInput, NotFound
from agentplatform.ids import parse_uuid
from runs.models import Run, shown_status_filter
from threads.selectors import thread_get

MAX_PAGE = 1000


def run_get(*, thread_id: str | uuid.UUID, run_id: str | uuid.UUID) -> Run:
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    run = Run.objects.filter(run_id=run_pk, thread_id=thread_pk).first()
    if run is None:
        raise NotFound("Run not found")
    return run


def run_get_by_id(*, run_id: str | uuid.UUID) -> Run | None:
    return Run.objects.filter(run_id=parse_uuid(run_id, "run")).first()


def run_list(*, thread_id: str | uuid.UUID, limit: int = 10, offset: int = 0, status: str | None = None) -> list[Run]:
    """A thread's runs, newest first; 404 if the thread does not exist."""
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE} and offset must not be negative")
    thread = thread_get(thread_id=thread_id)
    queryset = Run.objects.filter(thread=thread)
    if status:
        if status not in Run.Status.values:
            raise InvalidInput(f"Invalid status '{status}'. Must be one of: {', '.join(Run.Status.values)}")
        queryset = queryset.filter(shown_status_filter(status))
    return list(queryset.order_by("-created_at", "-run_id")[offset : offset + limit])
