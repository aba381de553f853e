"""Checks shared by store reads and writes, with the official wording and status codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentplatform.errors import BadRequest, InvalidInput
from store.backend import FILTER_OPERATORS


def namespace_tuple(namespace: Sequence[Any] | None, *, allow_empty: bool = True) -> tuple[str, ...]:
    """Labels are non-empty strings without "." (GET joins them with dots)."""
    labels = tuple(namespace or ())
    for label in labels:
        if not isinstance(label, str) or not label or "." in label or "\x00" in label:
            raise InvalidInput(f"Namespace label {label!r} must be a non-empty string without periods")
    if not labels and not allow_empty:
        raise BadRequest("Namespace cannot be empty.")
    return labels


def search_filter(raw: dict | None) -> dict | None:
    """Exact values match by equality; a dict of operators uses $eq, $ne, $gt, $gte, $lt, $lte."""
    if not raw:
        return None
    cleaned: dict[str, Any] = {}
    for field, condition in raw.items():
        if isinstance(condition, dict) and any(str(op).startswith("$") for op in condition):
            unknown = sorted(set(condition) - FILTER_OPERATORS)
            if unknown:
                # The official wording and status; the operators that work are $eq $ne $gt $gte $lt $lte.
                raise BadRequest(f"Unsupported operator: {unknown[0]}")
            cleaned[field] = condition
        else:
            # A nested object is matched as a whole, not read as operators.
            cleaned[field] = {"$eq": condition} if isinstance(condition, dict) else condition
    return cleaned
