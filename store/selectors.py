"""Reads of the store (LangGraph's PostgresStore, shared with graphs)."""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.store.base import Item, SearchItem

from store.backend import store_for_sync
from store.validation import namespace_tuple, search_filter


def store_item_get(*, namespace: Sequence[str], key: str, refresh_ttl: bool | None = None) -> Item | None:
    """None when the item is missing or expired (the API answers 200 with null, as the official server)."""
    return store_for_sync().get(namespace_tuple(namespace), key, refresh_ttl=refresh_ttl)


def store_item_search(
    *,
    namespace_prefix: Sequence[str] | None,
    filter: dict | None = None,
    limit: int = 10,
    offset: int = 0,
    query: str | None = None,
    refresh_ttl: bool | None = None,
) -> list[SearchItem]:
    """Newest first; with `query` and store.index configured, most similar first with a `score`."""
    return store_for_sync().search(
        namespace_tuple(namespace_prefix),
        filter=search_filter(filter),
        limit=limit,
        offset=offset,
        query=query or None,
        refresh_ttl=refresh_ttl,
    )


def store_namespace_list(
    *,
    prefix: Sequence[str] | None = None,
    suffix: Sequence[str] | None = None,
    max_depth: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[list[str]]:
    found = store_for_sync().list_namespaces(
        prefix=namespace_tuple(prefix) or None,
        suffix=namespace_tuple(suffix) or None,
        max_depth=max_depth,
        limit=limit,
        offset=offset,
    )
    return [list(namespace) for namespace in found]
