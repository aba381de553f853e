"""Reads of assistants and their versions.

Every read goes through here so that ownership (auth, later) is one filter in one place.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.functions import Lower

from agentplatform.errors import InvalidInput, NotFound
from agentplatform.graphs import get_registry
from agentplatform.ids import parse_uuid
from assistants.models import Assistant, AssistantVersion

ASSISTANT_SORT_FIELDS = ("assistant_id", "graph_id", "name", "created_at", "updated_at")
SORT_ORDERS = ("asc", "desc")


def assistant_get(*, assistant_id: str | uuid.UUID) -> Assistant:
    """The assistant with this UUID; 422 for a malformed id, 404 (the official generic "Not Found") if absent."""
    pk = parse_uuid(assistant_id, "assistant")
    assistant = Assistant.objects.filter(assistant_id=pk).first()
    if assistant is None:
        raise NotFound("Not Found")
    if not get_registry().has(assistant.graph_id):
        # Its graph was removed from langgraph.json: hidden, as from search and count.
        raise NotFound(f"assistant {pk} not found")
    return assistant


def graph_assert_exists(*, graph_id: str) -> None:
    registry = get_registry()
    if not registry.has(graph_id):
        raise NotFound(f"Graph '{graph_id}' not found. Expected one of: {sorted(registry.graph_ids())}")


def _filtered(*, metadata: dict | None, graph_id: str | None, name: str | None) -> QuerySet[Assistant]:
    # Assistants of graphs this server no longer serves are hidden, as the official Postgres edition does.
    queryset = Assistant.objects.filter(graph_id__in=get_registry().graph_ids())
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
    queryset = _filtered(metadata=metadata, graph_id=graph_id, name=name).order_by(*ordering)
    # One extra row tells whether a next page exists without a COUNT(*).
    rows = list(queryset[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def assistant_count(*, metadata: dict | None = None, graph_id: str | None = None, name: str | None = None) -> int:
    return _filtered(metadata=metadata, graph_id=graph_id, name=name).count()


def assistant_version_list(
    *, assistant_id: str | uuid.UUID, metadata: dict | None = None, limit: int = 10, offset: int = 0
) -> list[AssistantVersion]:
    """Versions of one assistant, newest first; like upstream, an empty page is a 404."""
    pk = parse_uuid(assistant_id, "assistant")
    queryset = AssistantVersion.objects.filter(assistant_id=pk)
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
