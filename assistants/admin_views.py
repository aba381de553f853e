"""What the assistant pages add to Django's admin: the graph drawn as SVG, its schemas, and a diff of two
versions (each version's fields as indented JSON, compared line by line)."""

from __future__ import annotations

import difflib
import json
import logging
from typing import Any

from django.utils.safestring import mark_safe

from agentplatform.admin_kit import json_text
from assistants.graph_info import assistant_drawable_graph, assistant_schemas
from assistants.graph_svg import graph_svg
from assistants.models import Assistant, AssistantVersion
from assistants.services import VERSIONED_FIELDS

logger = logging.getLogger(__name__)


def assistant_page_context(assistant: Assistant) -> dict[str, Any]:
    """The graph as SVG and the schemas, or why they cannot be shown (a graph factory may fail on any config)."""
    try:
        svg = graph_svg(assistant_drawable_graph(assistant=assistant))
        schemas = assistant_schemas(assistant=assistant)
    except Exception as exc:  # the page still shows the assistant when its graph cannot be built
        logger.warning("could not draw the graph of assistant %s", assistant.assistant_id, exc_info=True)
        return {"graph_error": f"{type(exc).__name__}: {exc}"}
    schemas_text = {name: json_text(schema) for name, schema in schemas.items() if name != "graph_id"}
    return {"graph_svg": mark_safe(svg), "schemas": schemas_text}  # graph_svg escapes every label it writes


def _document(version: AssistantVersion) -> list[str]:
    lines = []
    for field in VERSIONED_FIELDS:
        text = json.dumps(getattr(version, field), indent=2, sort_keys=True, ensure_ascii=False, default=str)
        lines.extend(f"{field}: {line}" if index == 0 else f"  {line}" for index, line in enumerate(text.splitlines()))
    return lines


def version_diff(old: AssistantVersion, new: AssistantVersion) -> list[tuple[str, str]]:
    """(css class, line) pairs of a unified diff from `old` to `new`; empty when they are the same."""
    lines = difflib.unified_diff(
        _document(old), _document(new), f"version {old.version}", f"version {new.version}", lineterm="", n=2
    )
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [("hunk" if line[:3] in ("---", "+++") else kinds.get(line[:1], ""), line) for line in lines]


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def comparison(assistant: Assistant, versions: list[AssistantVersion], query: dict) -> dict[str, Any]:
    """The versions chosen as ?a=&b= (by default the one before the latest, and the latest) and their diff."""
    if len(versions) < 2:
        return {}
    a, b = _number(query.get("a"), versions[1].version), _number(query.get("b"), versions[0].version)
    chosen = {v.version: v for v in AssistantVersion.objects.filter(assistant=assistant, version__in=(a, b))}
    if a not in chosen or b not in chosen:
        return {"a": a, "b": b, "diff_error": f"Assistant {assistant.pk} has no version {a if a not in chosen else b}."}
    return {"a": a, "b": b, "diff": version_diff(chosen[a], chosen[b])}
