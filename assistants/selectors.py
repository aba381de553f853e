"""Reads of assistants and their versions.

Every read goes through here so that ownership is one filter in one place: `user` (access.users.AuthUser; None
is the server itself) is asked about with the official `@auth.on.assistants` event, and rows outside the filter
its handler returns are absent, answering exactly as unknown ids.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.functions import Lower

from access.authorization import authorize_sync, authorized
from access.users import AuthUser
from agentplatform import rows
from agentplatform.errors import InvalidInput, NotFound
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid
from assistants.models import Assistant, AssistantVersion

ASSISTANT_SORT_FIELDS = ("assistant_id", "graph_id", "name", "created_at", "updated_at")
SORT_ORDERS = ("asc", "desc")


def assistants_authorized(*, user: AuthUser | None, action: str, value: dict) -> QuerySet[Assistant]:
    """The assistants `user` may `action` (read, update, delete...), as its auth handler filters them."""
    return authorized(Assistant.objects.all(), resource="assistants", action=action, value=value, user=user)


def assistant_get(*, assistant_id: str | uuid.UUID, user: AuthUser | None = None) -> Assistant:
    """The assistant with this UUID; 422 for a malformed id, 404 (the official generic "Not Found") if absent."""
    pk = parse_uuid(assistant_id, "assistant")
    filter_ = authorize_sync(resource="assistants", action="read", value={"assistant_id": pk}, user=user)
    if filter_ is None:
        assistant = _assistant_by_id(pk)
    else:
        # [:1] rather than first(): an id names one row, and first()'s ORDER BY costs a lookup a third more.
        assistant = next(iter(Assistant.objects.filter(filter_.q(), assistant_id=pk)[:1]), None)
    if assistant is None:
        raise NotFound("Not Found")
    if not get_registry().has(assistant.graph_id):
        # Its graph was removed from langgraph.json: hidden, as from search and count.
        raise NotFound(f"assistant {pk} not found")
    return assistant


_BY_ID_SQL = f"SELECT {rows.columns(Assistant)} FROM {Assistant._meta.db_table} WHERE assistant_id = %s"


def _assistant_by_id(pk: uuid.UUID) -> Assistant | None:
    """One assistant by id, without the ORM's query compilation: every run create resolves its assistant, and
    the compiled lookup cost about four times the statement (docs/benchmarks.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_BY_ID_SQL, [pk])
        row = cursor.fetchone()
    return None if row is None else rows.from_row(Assistant, row)


def graph_assert_exists(*, graph_id: str) -> None:
    registry = get_registry()
    if not registry.has(graph_id):
        raise NotFound(f"Graph '{graph_id}' not found. Expected one of: {sorted(registry.graph_ids())}")


def assistant_readable(*, assistant: Assistant, user: AuthUser | None) -> bool:
    """Whether `user` may read an assistant already loaded (run and cron creation check the one they use)."""
    filter_ = authorize_sync(
        resource="assistants", action="read", value={"assistant_id": assistant.assistant_id}, user=user
    )
    return filter_ is None or filter_.matches(assistant.metadata)


def _filtered(
    *, metadata: dict | None, graph_id: str | None, name: str | None, user: AuthUser | None, page: tuple[int, int]
) -> QuerySet[Assistant]:
    value = {"graph_id": graph_id, "metadata": metadata or {}, "limit": page[0], "offset": page[1]}
    queryset = assistants_authorized(user=user, action="search", value=value)
    metadata = value["metadata"]  # as officially, what the handler left there is what is searched for
    # Assistants of graphs this server no longer serves are hidden, as the official Postgres edition does.
    queryset = queryset.filter(graph_id__in=get_registry().graph_ids())
    if metadata:
        # jsonb @> : every given key present with an equal value, nested objects compared recursively.
        queryset = queryset.filter(metadata__contains=metadata)
    if graph_id is not None:
        graph_assert_exists(graph_id=graph_id)
        queryset = queryset.filter(graph_id=graph_id)
    if name:
        queryset = queryset.filter(name__icontains=name)
    return queryset


def assistant_search(
    *,
    metadata: dict | None = None,
    graph_id: str | None = None,
    name: str | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: str | None = None,
    user: AuthUser | None = None,
) -> tuple[list[Assistant], bool]:
    """One page of matching assistants, newest first by default, and whether more rows follow it."""
    sort_by = sort_by or "created_at"
    if sort_by not in ASSISTANT_SORT_FIELDS:
        raise InvalidInput(f"Invalid sort_by '{sort_by}'; use one of: {', '.join(ASSISTANT_SORT_FIELDS)}")
    sort_order = (sort_order or "desc").lower()
    if sort_order not in SORT_ORDERS:
        raise InvalidInput(f"Invalid sort_order '{sort_order}'; use 'asc' or 'desc'")
    # Text sorts ignore case, as upstream; the id breaks ties so pages never overlap.
    key = Lower(sort_by) if sort_by in ("name", "graph_id") else F(sort_by)
    ordering = [key.desc(), F("assistant_id").desc()] if sort_order == "desc" else [key.asc(), F("assistant_id").asc()]
    queryset = _filtered(metadata=metadata, graph_id=graph_id, name=name, user=user, page=(limit, offset))
    queryset = queryset.order_by(*ordering)
    # One extra row tells whether a next page exists without a COUNT(*).
    rows = list(queryset[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def assistant_count(
    *, metadata: dict | None = None, graph_id: str | None = None, name: str | None = None, user: AuthUser | None = None
) -> int:
    return _filtered(metadata=metadata, graph_id=graph_id, name=name, user=user, page=(0, 0)).count()


def assistant_version_list(
    *,
    assistant_id: str | uuid.UUID,
    metadata: dict | None = None,
    limit: int = 10,
    offset: int = 0,
    user: AuthUser | None = None,
) -> list[AssistantVersion]:
    """Versions of one assistant, newest first; like upstream, an empty page is a 404. The read filter applies
    to each version's metadata, as officially."""
    pk = parse_uuid(assistant_id, "assistant")
    versions = AssistantVersion.objects.filter(assistant_id=pk)
    value = {"assistant_id": pk}
    queryset = authorized(versions, resource="assistants", action="read", value=value, user=user)
    if metadata:
        queryset = queryset.filter(metadata__contains=metadata)
    versions = list(queryset.order_by("-version")[offset : offset + limit])
    if not versions:
        raise NotFound(f"Assistant {pk} not found")
    return versions


def assistant_graph_config(*, assistant: Assistant) -> dict[str, Any]:
    """The config a graph factory is built with for introspection: the assistant's config, context mirrored."""
    config = dict(assistant.config or {})
    configurable = {**(assistant.context or {}), **(config.get("configurable") or {})}
    config["configurable"] = configurable
    return config
