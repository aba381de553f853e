"""Writes to assistants: create, update (a new version each time), pin a version, delete, system assistants.

Each write asks `user`'s `@auth.on.assistants` handler first (access.authorization; None is the server itself):
it may refuse, stamp the metadata written, or restrict the assistants the write may touch, those outside being
answered exactly as unknown ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from langgraph.pregel import Pregel

from access.authorization import authorize_sync
from access.users import AuthUser
from agentplatform.errors import Conflict, InvalidInput, NotFound
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid
from agentplatform.reserved import config_and_context, without_reserved_metadata
from assistants.models import Assistant, AssistantVersion, system_assistant_id
from assistants.selectors import assistant_get, assistants_authorized, graph_assert_exists

VERSIONED_FIELDS = ("graph_id", "name", "description", "config", "context", "metadata")

# Higher apps register here (in AppConfig.ready) what must happen when an assistant is deleted, e.g. threads
# deleting the threads it ran on and runs cancelling its in-flight runs; assistants cannot import them.
# Each hook is called as hook(assistant_id=<UUID>, delete_threads=<bool>, user=<AuthUser | None>) inside the
# deleting transaction; with a user, a hook touches only what that user may delete.
AssistantDeleteHook = Callable[..., None]
assistant_delete_hooks: list[AssistantDeleteHook] = []


def assistant_delete_hook_register(hook: AssistantDeleteHook) -> None:
    if hook not in assistant_delete_hooks:
        assistant_delete_hooks.append(hook)


def _version_from(assistant: Assistant, version: int) -> AssistantVersion:
    return AssistantVersion(
        assistant=assistant,
        version=version,
        created_at=assistant.updated_at,
        **{field: getattr(assistant, field) for field in VERSIONED_FIELDS},
    )


def assistant_create(
    *,
    graph_id: str,
    assistant_id: str | uuid.UUID | None = None,
    config: dict | None = None,
    context: dict | None = None,
    metadata: dict | None = None,
    if_exists: str = "raise",
    name: str | None = None,
    description: str | None = None,
    user: AuthUser | None = None,
) -> Assistant:
    """A new assistant at version 1; with if_exists="do_nothing" an existing one with that id is returned as is.
    An existing one outside the user's filter is a 409, as officially (it is not theirs to return)."""
    if if_exists not in ("raise", "do_nothing"):
        raise InvalidInput(f"Invalid if_exists '{if_exists}'; use 'raise' or 'do_nothing'")
    pk = parse_uuid(assistant_id, "assistant") if assistant_id else uuid.uuid4()
    value = {"assistant_id": pk, "graph_id": graph_id, "config": config or {}, "context": context}
    value |= {"metadata": without_reserved_metadata(metadata), "name": name}
    filter_ = authorize_sync(resource="assistants", action="create", value=value, user=user)
    metadata = value["metadata"]  # the handler may stamp it (e.g. the owner)
    config, context = config_and_context(config, context)
    graph_assert_exists(graph_id=graph_id)
    now = timezone.now()
    fields = {
        "graph_id": graph_id,
        "config": config,
        "context": context or {},
        "metadata": metadata,
        "name": name or "Untitled",
        "description": description,
        "created_at": now,
        "updated_at": now,
    }
    with transaction.atomic():
        assistant, created = Assistant.objects.get_or_create(assistant_id=pk, defaults=fields)
        if not created:
            if if_exists == "raise" or (filter_ is not None and not filter_.matches(assistant.metadata)):
                raise Conflict(f"Assistant {pk} already exists")
            return assistant
        _version_from(assistant, 1).save()
    return assistant


def _locked(pk: uuid.UUID, *, user: AuthUser | None, value: dict) -> Assistant:
    """The assistant row locked for an update, if `user`'s update handler lets them touch it."""
    visible = assistants_authorized(user=user, action="update", value=value)
    assistant = visible.select_for_update().filter(assistant_id=pk).first()
    if assistant is None:
        raise NotFound(f"Assistant {pk} not found")
    return assistant


def assistant_update(
    *,
    assistant_id: str | uuid.UUID,
    graph_id: str | None = None,
    config: dict | None = None,
    context: dict | None = None,
    metadata: dict | None = None,
    name: str | None = None,
    description: str | None = None,
    user: AuthUser | None = None,
) -> Assistant:
    """Apply a patch as a new version that becomes the latest; metadata is merged into the current one."""
    pk = parse_uuid(assistant_id, "assistant")
    value = {"assistant_id": pk, "graph_id": graph_id, "config": config or {}, "context": context}
    value |= {"metadata": without_reserved_metadata(metadata), "name": name}
    config, context = config_and_context(config, context)
    if graph_id is not None:
        graph_assert_exists(graph_id=graph_id)
    with transaction.atomic():
        assistant = _locked(pk, user=user, value=value)  # its handler may stamp value["metadata"]
        if graph_id is not None:
            assistant.graph_id = graph_id
        if config:
            assistant.config = config
        if context is not None:
            assistant.context = context
        assistant.metadata = {**assistant.metadata, **value["metadata"]}
        if name is not None:
            assistant.name = name
        if description is not None:
            assistant.description = description
        _save_as_new_version(assistant)
    return assistant


def _save_as_new_version(assistant: Assistant) -> None:
    """Call with the row locked. After set_latest the current version is not the highest: append after it."""
    highest = AssistantVersion.objects.filter(assistant_id=assistant.assistant_id).aggregate(v=Max("version"))["v"]
    assistant.version = (highest or 0) + 1
    assistant.updated_at = timezone.now()
    assistant.save()
    _version_from(assistant, assistant.version).save()


def assistant_save_edited(*, assistant: Assistant) -> Assistant:
    """Save an assistant edited as a whole (the admin form) as its newest version, or as version 1 if new."""
    graph_assert_exists(graph_id=assistant.graph_id)
    configurable = (assistant.config or {}).get("configurable")
    assistant.config, context = config_and_context(assistant.config, None if configurable else assistant.context)
    assistant.context = context or {}
    with transaction.atomic():
        # Serialises concurrent edits of one assistant so version numbers never collide.
        Assistant.objects.select_for_update().filter(assistant_id=assistant.assistant_id).first()
        _save_as_new_version(assistant)
    return assistant


def assistant_set_latest(*, assistant_id: str | uuid.UUID, version: int, user: AuthUser | None = None) -> Assistant:
    """Make an earlier (or later) version the current one; its fields are copied back onto the assistant."""
    pk = parse_uuid(assistant_id, "assistant")
    with transaction.atomic():
        assistant = _locked(pk, user=user, value={"assistant_id": pk, "version": version})
        chosen = AssistantVersion.objects.filter(assistant=assistant, version=version).first()
        if chosen is None:
            raise NotFound(f"Version {version} not found for assistant {pk}")
        for field in VERSIONED_FIELDS:
            setattr(assistant, field, getattr(chosen, field))
        assistant.version = chosen.version
        assistant.updated_at = timezone.now()
        assistant.save()
    return assistant


def assistant_delete(
    *, assistant_id: str | uuid.UUID, delete_threads: bool = False, user: AuthUser | None = None
) -> None:
    """Delete an assistant and its versions; registered hooks clean up what higher layers hold for it."""
    pk = parse_uuid(assistant_id, "assistant")
    visible = assistants_authorized(user=user, action="delete", value={"assistant_id": pk})
    with transaction.atomic():
        assistant = visible.select_for_update().filter(assistant_id=pk).first()
        if assistant is None:
            raise NotFound(f"Assistant with ID {pk} not found")
        for hook in list(assistant_delete_hooks):
            hook(assistant_id=pk, delete_threads=delete_threads, user=user)
        assistant.delete()


def _system_name(graph_id: str) -> str:
    """The graph's own name when it set one, else the graph id (compiled graphs default to "LangGraph")."""
    target = get_registry().entry(graph_id).target
    name = getattr(target, "name", None) if isinstance(target, Pregel) else None
    return name if name and name != "LangGraph" else graph_id


def _system_assistant(graph_id: str, now: Any) -> Assistant:
    return Assistant(
        assistant_id=system_assistant_id(graph_id),
        graph_id=graph_id,
        name=_system_name(graph_id),
        description=get_registry().entry(graph_id).spec.description,
        config={},
        context={},
        metadata={"created_by": "system"},
        version=1,
        created_at=now,
        updated_at=now,
    )


def assistants_ensure_system(*, graph_ids: Iterable[str]) -> None:
    """Create the system assistant of each graph if it is missing; safe when many processes start at once."""
    now = timezone.now()
    wanted = [_system_assistant(graph_id, now) for graph_id in graph_ids]
    existing = {
        row[0]: row[1:]
        for row in Assistant.objects.filter(assistant_id__in=[a.assistant_id for a in wanted]).values_list(
            "assistant_id", "name", "description"
        )
    }
    stale = [a for a in wanted if existing.get(a.assistant_id, (a.name, a.description)) != (a.name, a.description)]
    _system_sync(stale)
    missing = [a for a in wanted if a.assistant_id not in existing]
    if not missing:
        return
    try:
        with transaction.atomic():
            # ON CONFLICT DO NOTHING: a concurrent starter may insert the same rows first.
            Assistant.objects.bulk_create(missing, ignore_conflicts=True)
            present = set(
                Assistant.objects.filter(assistant_id__in=[a.assistant_id for a in missing]).values_list(
                    "assistant_id", flat=True
                )
            )
            versions = [_version_from(a, 1) for a in missing if a.assistant_id in present]
            AssistantVersion.objects.bulk_create(versions, ignore_conflicts=True)
    except IntegrityError:
        # Deleted between the two inserts by someone else: nothing to ensure any more.
        pass


def assistant_resolve(*, assistant_id: str | uuid.UUID, user: AuthUser | None = None) -> Assistant:
    """Where the API accepts "an assistant UUID or a graph name" (runs, crons, /graph).

    A graph name always means that graph's system assistant, never "the first assistant of the graph"; one that
    is missing (deleted, or asked for before start-up created it) is created again. With a user, the assistant
    must be one they may read.
    """
    if isinstance(assistant_id, uuid.UUID):
        return assistant_get(assistant_id=assistant_id, user=user)
    registry = get_registry()
    if registry.has(assistant_id):
        pk = system_assistant_id(assistant_id)
        try:
            return assistant_get(assistant_id=pk, user=user)
        except NotFound:
            if Assistant.objects.filter(assistant_id=pk).exists():
                raise  # there, but not the user's to read
        assistants_ensure_system(graph_ids=[assistant_id])
        return assistant_get(assistant_id=pk, user=user)
    try:
        pk = uuid.UUID(str(assistant_id))
    except ValueError:
        raise InvalidInput(
            f"Invalid assistant: '{assistant_id}'. Must be either:\n"
            "- A valid assistant UUID, or\n"
            f"- One of the registered graphs: {', '.join(registry.graph_ids())}"
        ) from None
    return assistant_get(assistant_id=pk, user=user)


def _system_sync(expected: list[Assistant]) -> None:
    """A graph renamed or described anew in langgraph.json updates its system assistant, as a new version."""
    for wanted in expected:
        with transaction.atomic():
            current = Assistant.objects.select_for_update().filter(assistant_id=wanted.assistant_id).first()
            # Re-checked under the lock: of many processes starting together only the first one writes.
            if current is None or (current.name, current.description) == (wanted.name, wanted.description):
                continue
            current.name, current.description = wanted.name, wanted.description
            _save_as_new_version(current)
