"""Writes on crons (create, update, delete) and the scheduler's firing of due crons.

Firing claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and advances next_run_date in the same transaction
that creates the run, so a due firing happens exactly once however many beat processes tick at the same time.
"""

from __future__ import annotations

import copy
import datetime
import logging
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone as django_timezone

from agentplatform.errors import ApplicationError, BadRequest, InvalidInput, NotFound
from agentplatform.ids import parse_uuid, uuid7
from agentplatform.serde import to_jsonable
from assistants.models import Assistant
from assistants.services import assistant_resolve
from crons.models import Cron
from crons.schedule import next_cron_date, validate_schedule, validate_timezone
from crons.selectors import cron_get
from runs.engine.webhooks import webhook_validate
from runs.models import Run
from runs.payload import OnCompletion, parse_run_payload
from runs.services import run_create
from threads.models import Thread

logger = logging.getLogger(__name__)

# Body fields that describe the schedule, not the run each firing creates.
CRON_ONLY_FIELDS = ("schedule", "timezone", "end_time", "enabled", "on_run_completed")


def _assistant(assistant_id: str) -> Assistant:
    try:
        return assistant_resolve(assistant_id=assistant_id)
    except (NotFound, InvalidInput):
        raise NotFound(f"Assistant '{assistant_id}' not found") from None


def _thread(thread_id: str | uuid.UUID) -> Thread:
    pk = parse_uuid(thread_id, "thread")
    thread = Thread.objects.filter(thread_id=pk).first()
    if thread is None:
        raise NotFound(
            f"Thread with ID '{pk}' not found. Please verify the ID is correct and the thread hasn't been deleted "
            "or expired."
        )
    return thread


def _with_cron_id(payload: dict, cron_id: uuid.UUID) -> dict:
    """The stored payload carries config.configurable.cron_id, as on the official server."""
    config = dict(payload.get("config") or {})
    config["configurable"] = {**(config.get("configurable") or {}), "cron_id": str(cron_id)}
    return to_jsonable({**payload, "config": config})


def _as_run_body(payload: dict) -> dict:
    """The payload as a run-create body: no schedule fields, and no cron_id next to `context` (runs refuse both)."""
    body = {k: v for k, v in copy.deepcopy(payload).items() if k not in CRON_ONLY_FIELDS}
    config = body.get("config")
    if body.get("context") and isinstance(config, dict) and isinstance(config.get("configurable"), dict):
        config["configurable"].pop("cron_id", None)
    return body


def _run_payload(cron: Cron) -> dict:
    """What one firing sends to run creation, with the cron's metadata under the run's own."""
    payload = _as_run_body(cron.payload)
    payload["metadata"] = {**(cron.metadata or {}), **(payload.get("metadata") or {})}
    if cron.on_run_completed == Cron.OnRunCompleted.KEEP:
        payload.setdefault("on_completion", OnCompletion.KEEP.value)
    return payload


def _check_runnable(payload: dict, *, stateless: bool) -> None:
    """Refuse now (422/400) a payload that every firing would fail to turn into a run."""
    request = parse_run_payload(_as_run_body(payload), stateless=stateless)
    if request.webhook:
        webhook_validate(request.webhook)


def cron_create(
    *,
    body: dict[str, Any],
    assistant_id: str,
    schedule: str,
    thread_id: str | uuid.UUID | None = None,
    timezone: str | None = None,
    end_time: datetime.datetime | None = None,
    metadata: dict | None = None,
    enabled: bool = True,
    on_run_completed: str | None = None,
) -> Cron:
    """A cron on a thread (runs on it each time) or stateless (a new thread per firing; on_run_completed)."""
    validate_schedule(schedule)
    validate_timezone(timezone)
    thread = None if thread_id is None else _thread(thread_id)
    assistant = _assistant(assistant_id)
    _check_runnable(body, stateless=thread is None)
    now = django_timezone.now()
    cron_id = uuid7()
    return Cron.objects.create(
        cron_id=cron_id,
        assistant=assistant,
        thread=thread,
        schedule=schedule,
        timezone=timezone,
        end_time=end_time,
        payload=_with_cron_id({**body, "assistant_id": str(assistant.assistant_id)}, cron_id),
        next_run_date=next_cron_date(schedule, now, timezone),
        metadata=metadata or {},
        on_run_completed=None if thread is not None else (on_run_completed or Cron.OnRunCompleted.DELETE),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )


def _apply_schedule(cron: Cron, fields: dict, now: datetime.datetime) -> None:
    if "timezone" in fields:
        cron.timezone = validate_timezone(fields["timezone"])
    if fields.get("schedule") is not None:
        cron.schedule = validate_schedule(fields["schedule"])
    if fields.get("schedule") is not None or "timezone" in fields:
        cron.next_run_date = next_cron_date(cron.schedule, now, cron.timezone)
    if "end_time" in fields:
        cron.end_time = fields["end_time"]  # an explicit null clears it


def cron_update(*, cron_id: str | uuid.UUID, body: dict[str, Any], fields: dict[str, Any]) -> Cron:
    """PATCH: schedule/timezone recompute next_run_date, metadata merges, the rest of the body merges into payload."""
    if not body:
        raise BadRequest("Request body cannot be empty")
    pk = parse_uuid(cron_id, "cron")
    now = django_timezone.now()
    with transaction.atomic():
        cron = Cron.objects.select_for_update().filter(cron_id=pk).first()
        if cron is None:
            raise NotFound(f"Cron '{pk}' not found")
        _apply_schedule(cron, fields, now)
        if fields.get("enabled") is not None:
            cron.enabled = fields["enabled"]
        if fields.get("on_run_completed") is not None and cron.thread_id is None:
            cron.on_run_completed = fields["on_run_completed"]
        if fields.get("metadata") is not None:
            cron.metadata = {**(cron.metadata or {}), **fields["metadata"]}
        payload = {**cron.payload, **body, "assistant_id": cron.payload.get("assistant_id")}
        _check_runnable(payload, stateless=cron.thread_id is None)
        cron.payload = _with_cron_id(payload, cron.cron_id)
        cron.updated_at = now
        cron.save()
    return cron


def cron_delete(*, cron_id: str | uuid.UUID) -> None:
    cron_get(cron_id=cron_id).delete()


def _fire(cron: Cron) -> None:
    """Create this firing's run; a failure (thread busy with reject, assistant gone...) skips only this firing."""
    try:
        with transaction.atomic():  # a savepoint: a failed run creation leaves the claim intact
            run = run_create(thread_id=cron.thread_id, payload=_run_payload(cron), stateless=cron.thread_id is None)
        logger.info("cron %s fired run %s", cron.cron_id, run.run_id)
    except ApplicationError as exc:
        logger.warning("cron %s could not create its run: %s", cron.cron_id, exc.detail)
    except Exception:
        logger.exception("cron %s could not create its run", cron.cron_id)


def cron_run_now(*, cron_id: str | uuid.UUID) -> Run:
    """Create one firing's run now, outside the schedule (the admin's "run now"); next_run_date stays as it is."""
    cron = cron_get(cron_id=cron_id)
    return run_create(thread_id=cron.thread_id, payload=_run_payload(cron), stateless=cron.thread_id is None)


def crons_fire_due(*, now: datetime.datetime | None = None, limit: int = 100) -> int:
    """Fire every enabled cron whose next_run_date has come (and whose end_time has not passed); returns how many.

    A cron that missed several firings (scheduler down) fires once, then resumes its schedule from now.
    """
    now = now or django_timezone.now()
    with transaction.atomic():
        due = list(
            Cron.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_date__lte=now)
            .filter(Q(end_time__isnull=True) | Q(end_time__gte=now))
            .order_by("next_run_date")[:limit]
        )
        for cron in due:
            _fire(cron)
            cron.next_run_date = next_cron_date(cron.schedule, now, cron.timezone)
            cron.save(update_fields=["next_run_date"])
    return len(due)


def crons_fire_all_due(*, batch: int = 100, max_batches: int = 20) -> int:
    """One scheduler tick: batches of due crons, each in its own short transaction, until none is left."""
    fired = 0
    for _ in range(max_batches):
        claimed = crons_fire_due(limit=batch)
        fired += claimed
        if claimed < batch:
            break
    return fired
