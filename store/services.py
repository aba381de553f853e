"""Writes to the store (LangGraph's PostgresStore, shared with graphs) and its TTL sweep."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from langgraph.store.base import NOT_PROVIDED, InvalidNamespaceError, NotProvided

from agentplatform.errors import InvalidInput
from store.backend import store_for_sync
from store.validation import namespace_tuple

logger = logging.getLogger(__name__)


def store_item_put(
    *,
    namespace: Sequence[str],
    key: str,
    value: dict[str, Any],
    index: Literal[False] | list[str] | None = None,
    ttl: float | NotProvided | None = NOT_PROVIDED,
) -> None:
    """Create or overwrite an item. `ttl` in minutes; not given means store.ttl.default_ttl, None means never."""
    labels = namespace_tuple(namespace, allow_empty=False)
    try:
        store_for_sync().put(labels, key, value, index=index, ttl=ttl)
    except InvalidNamespaceError as exc:
        raise InvalidInput(str(exc)) from None


def store_item_delete(*, namespace: Sequence[str], key: str) -> None:
    """Deleting a missing item is not an error."""
    try:
        store_for_sync().delete(namespace_tuple(namespace, allow_empty=False), key)
    except InvalidNamespaceError as exc:
        raise InvalidInput(str(exc)) from None


def store_items_sweep_expired() -> int:
    """Delete items whose TTL has passed (reads already hide them); returns how many were removed."""
    removed = store_for_sync().sweep_ttl()
    if removed:
        logger.info("store TTL sweep removed %d expired items", removed)
    return removed
