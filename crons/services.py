"""Writes on crons (create, update, delete) and the scheduler's firing of due crons.

Firing claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and advances next_run_date in the same transaction
that creates the run, so a due firing happens exactly once however many beat processes tick at the same time.

Writes ask `user`'s `@auth.on.crons` handler (None is the server); a cron is made as its creator and fires as
them: their auth handlers decide each firing's run, which carries them in its config, as officially.
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

from access.authorization import authorize_sync
from access.users import ANONYMOUS, AuthUser, auth_configurable, user_from_configurable
from agentplatform.errors import ApplicationError, BadRequest, InvalidInput, NotFound
from agentplatform.ids import parse_uuid, uuid7
from agentplatform.serde import to_jsonable
from assistants.models import Assistant
from assistants.selectors import assistant_readable
from assistants.services import assistant_resolve
from crons.models import Cron
from crons.schedule import next_cron_date, validate_schedule, validate_timezone
from crons.selectors import cron_get, crons_authorized
from runs.engine.webhooks import webhook_validate
from runs.models import Run
from runs.payload import OnCompletion, parse_run_payload
from runs.services import run_create
from threads.models import Thread
from threads.selectors import threads_authorized

logger = logging.getLogger(__name__)

# Body fields that describe the schedule, not the run each firing creates.
CRON_ONLY_FIELDS = ("schedule", "timezone", "end_time", "enabled", "on_run_completed")


def _assistant(assistant_id: str, user: AuthUser | None) -> Assistant:
    """The cron's assistant, which the user must be able to read (system assistants excepted, as officially)."""
    try:
        assistant = assistant_resolve(assistant_id=assistant_id)
    except (NotFound, InvalidInput):
        raise NotFound(f"Assistant '{assistant_id}' not found") from None
    system = (assistant.metadata or {}).get("created_by") == "system"
    if not system and not assistant_readable(assistant=assistant, user=user):
        raise NotFound(f"Assistant '{assistant_id}' not found")
    return assistant


def _thread(thread_id: str | uuid.UUID, user: AuthUser | None) -> Thread:
    pk = parse_uuid(thread_id, "thread")
    thread = threads_authorized(user=user, action="read", value={"thread_id": pk}).filter(thread_id=pk).first()
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
    user: AuthUser | None = None,
) -> Cron:
    """A cron on a thread (runs on it each time) or stateless (a new thread per firing; on_run_completed)."""
    cron_id = uuid7()
    value = {"payload": body, "schedule": schedule, "cron_id": cron_id, "thread_id": thread_id, "end_time": end_time}
    value |= {"user_id": user.identity if user is not None and user.is_authenticated else None}
    value["metadata"] = metadata or {}
    authorize_sync(resource="crons", action="create", value=value, user=user)
    metadata = value["metadata"]  # the handler may stamp it (e.g. the owner)
    validate_schedule(schedule)
    validate_timezone(timezone)
    thread = None if thread_id is None else _thread(thread_id, user)
    assistant = _assistant(assistant_id, user)
    _check_runnable(body, stateless=thread is None)
    now = django_timezone.now()
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
        user_id=value["user_id"],
        auth_user=auth_configurable(user) if user is not None else None,
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


def _update_value(pk: uuid.UUID, body: dict, fields: dict) -> dict:
    """The official `crons.update` payload (metadata only when sent); its handler may stamp the metadata."""
    names = ("schedule", "end_time", "enabled", "on_run_completed")
    value = {"cron_id": pk, **{name: fields.get(name) for name in names}, "payload": body}
    if fields.get("metadata") is not None:
        value["metadata"] = dict(fields["metadata"])
    return value


def cron_update(
    *, cron_id: str | uuid.UUID, body: dict[str, Any], fields: dict[str, Any], user: AuthUser | None = None
) -> Cron:
    """PATCH: schedule/timezone recompute next_run_date, metadata merges, the rest of the body merges into payload."""
    if not body:
        raise BadRequest("Request body cannot be empty")
    pk = parse_uuid(cron_id, "cron")
    value = _update_value(pk, body, fields)
    updatable = crons_authorized(user=user, action="update", value=value)
    fields = {**fields, "metadata": value.get("metadata")}
    now = django_timezone.now()
    with transaction.atomic():
        cron = updatable.select_for_update().filter(cron_id=pk).first()
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


def cron_delete(*, cron_id: str | uuid.UUID, user: AuthUser | None = None) -> None:
    cron_get(cron_id=cron_id, user=user, action="delete").delete()


def cron_owner(cron: Cron) -> AuthUser | None:
    """The user a cron's runs are made as: its creator (anonymous when auth was off), None for the server's own."""
    if cron.auth_user is None:
        return None
    return user_from_configurable(cron.auth_user) or ANONYMOUS


def _fire(cron: Cron) -> None:
    """Create this firing's run as the cron's owner; a failure (thread busy with reject, assistant gone, the owner
    no longer allowed...) skips only this firing."""
    stateless = cron.thread_id is None
    try:
        with transaction.atomic():  # a savepoint: a failed run creation leaves the claim intact
            payload = _run_payload(cron)
            run = run_create(thread_id=cron.thread_id, payload=payload, stateless=stateless, user=cron_owner(cron))
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
