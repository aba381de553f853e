"""Writes to the store (LangGraph's PostgresStore, shared with graphs) and its TTL sweep."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from langgraph.store.base import NOT_PROVIDED, InvalidNamespaceError, NotProvided

from access.users import AuthUser
from agentplatform.errors import BadRequest, InvalidInput
from store.backend import store_for_sync
from store.selectors import store_authorized

logger = logging.getLogger(__name__)


def store_item_put(
    *,
    namespace: Sequence[str],
    key: str,
    value: dict[str, Any],
    index: Literal[False] | list[str] | None = None,
    ttl: float | NotProvided | None = NOT_PROVIDED,
    user: AuthUser | None = None,
) -> None:
    """Create or overwrite an item. `ttl` in minutes; not given means store.ttl.default_ttl, None means never."""
    request = {"namespace": namespace, "key": key, "value": value, "index": index, "ttl": ttl}
    store_authorized(action="put", value=request, user=user)
    labels = _not_empty(request["namespace"])
    try:
        store_for_sync().put(labels, request["key"], request["value"], index=request["index"], ttl=request["ttl"])
    except InvalidNamespaceError as exc:
        raise InvalidInput(str(exc)) from None


def store_item_delete(*, namespace: Sequence[str], key: str, user: AuthUser | None = None) -> None:
    """Deleting a missing item is not an error."""
    request = {"namespace": namespace, "key": key}
    store_authorized(action="delete", value=request, user=user)
    try:
        store_for_sync().delete(_not_empty(request["namespace"]), request["key"])
    except InvalidNamespaceError as exc:
        raise InvalidInput(str(exc)) from None


def _not_empty(namespace: tuple[str, ...]) -> tuple[str, ...]:
    if not namespace:
        raise BadRequest("Namespace cannot be empty.")
    return namespace


def store_items_sweep_expired() -> int:
    """Delete items whose TTL has passed (reads already hide them); returns how many were removed."""
    removed = store_for_sync().sweep_ttl()
    if removed:
        logger.info("store TTL sweep removed %d expired items", removed)
    return removed
