"""What the run page adds to Django's change form: its operations and the JSON its script polls for the run's
events. The events are read from the run's log through agentplatform.stream_log, from the start (a replay)
and then after the last id seen, until the log's done entry: the page follows a run live while it runs."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.admin import ModelAdmin
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from redis.exceptions import RedisError

from agentplatform import stream_log
from runs.models import Run
from runs.retry import retry_payload
from runs.services import run_create

# Events per poll; the page asks again at once while a poll comes back full.
EVENTS_PER_POLL = 200
# A browser shows at most this much of one event's data (a values event can hold a whole conversation).
MAX_DATA_CHARS = 20_000
_ENTRY_ID = re.compile(r"^\d+-\d+$")


def run_page_context(model_admin: ModelAdmin, request: HttpRequest, run: Run) -> dict[str, Any]:
    may_change = model_admin.has_change_permission(request, run)
    return {
        "events_url": reverse("admin:runs_run_events", args=[run.run_id]),
        "in_flight": run.status in Run.IN_FLIGHT,
        "may_cancel": may_change and run.status in Run.IN_FLIGHT,
        "may_retry": may_change and request.user.has_perm("runs.add_run") and run.status in Run.TERMINAL,
        "cancel_url": reverse("admin:runs_run_cancel", args=[run.run_id]),
        "retry_url": reverse("admin:runs_run_retry", args=[run.run_id]),
    }


def _data_text(data: bytes) -> str:
    text = data.decode(errors="replace")
    return text if len(text) <= MAX_DATA_CHARS else text[:MAX_DATA_CHARS] + f"… ({len(text)} characters)"


def run_events(run: Run, *, after: str) -> JsonResponse:
    """`{"events": [{id, event, data}], "cursor", "status", "finished"}`: the log's entries after `after`."""
    cursor = after if _ENTRY_ID.match(after) else stream_log.START
    body: dict[str, Any] = {"status": run.status, "cursor": cursor, "events": [], "finished": False}
    try:
        entries = stream_log.read_after_sync(stream_log.run_stream_key(run.run_id), cursor, count=EVENTS_PER_POLL)
    except RedisError as exc:
        return JsonResponse({**body, "finished": run.status in Run.TERMINAL, "detail": f"Redis: {exc}"})
    ended = any(event == stream_log.DONE_EVENT for _, event, _ in entries)
    body["events"] = [
        {"id": entry_id, "event": event, "data": _data_text(data)}
        for entry_id, event, data in entries
        if event != stream_log.DONE_EVENT
    ]
    body["cursor"] = entries[-1][0] if entries else cursor
    # A finished run whose log expired (or was lost) has nothing more to give either.
    body["finished"] = ended or (run.status in Run.TERMINAL and not entries)
    body["more"] = len(entries) == EVENTS_PER_POLL
    return JsonResponse(body)


def run_retry(run: Run) -> Run:
    """A new run with the same kwargs, on the same thread, through the API's run creation."""
    return run_create(thread_id=run.thread_id, payload=retry_payload(run))
