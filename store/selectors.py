"""Reads of the store (LangGraph's PostgresStore, shared with graphs).

`user`'s `@auth.on.store` handler (None: the server) sees each request's namespace first and may rewrite it (give
every user their own) or refuse; a filter it returns for a search narrows that search, as officially.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import Item, SearchItem

from access.authorization import authorize_sync, store_namespace
from access.errors import PermissionDenied
from access.filters import Filter
from access.users import AuthUser
from store.backend import store_for_sync
from store.validation import namespace_tuple, search_filter


def store_authorized(*, action: str, value: dict, user: AuthUser | None) -> Filter | None:
    """Ask the store handler about `value` (its namespace checked before and after, so that what it may rewrite
    is what the store then uses, labels checked as usual)."""
    value["namespace"] = namespace_tuple(value["namespace"])
    filter_ = authorize_sync(resource="store", action=action, value=value, user=user)
    value["namespace"] = namespace_tuple(store_namespace(value))
    return filter_


def store_item_get(
    *, namespace: Sequence[str], key: str, refresh_ttl: bool | None = None, user: AuthUser | None = None
) -> Item | None:
    """None when the item is missing or expired (the API answers 200 with null, as the official server)."""
    value = {"namespace": namespace, "key": key, "refresh_ttl": refresh_ttl}
    store_authorized(action="get", value=value, user=user)
    return store_for_sync().get(value["namespace"], value["key"], refresh_ttl=value["refresh_ttl"])


class _NoMatch(Exception):
    """The search's own filter and the handler's want different values of one key: nothing can match."""


def _as_operators(condition: Any) -> dict:
    return (
        condition
        if isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition)
        else {"$eq": condition}
    )


def _with_auth_filter(own: dict | None, auth: Filter | None) -> dict | None:
    """Both filters at once (the store's filter is one condition set per key, so they are merged by key)."""
    merged = dict(search_filter(own) or {})
    for key, condition in (auth.raw if auth is not None else {}).items():
        wanted = _as_operators(condition)
        if key.startswith("$") or set(wanted) != {"$eq"}:
            raise PermissionDenied('A store search handler may only return equality filters, e.g. {"owner": id}.')
        current = _as_operators(merged[key]) if key in merged else {}
        if "$eq" in current and current["$eq"] != wanted["$eq"]:
            raise _NoMatch
        merged[key] = {**current, **wanted}
    return merged or None


def store_item_search(
    *,
    namespace_prefix: Sequence[str] | None,
    filter: dict | None = None,
    limit: int = 10,
    offset: int = 0,
    query: str | None = None,
    refresh_ttl: bool | None = None,
    user: AuthUser | None = None,
) -> list[SearchItem]:
    """Newest first; with `query` and store.index configured, most similar first with a `score`."""
    value = {"namespace": namespace_prefix, "filter": filter, "limit": limit, "offset": offset, "query": query}
    value["refresh_ttl"] = refresh_ttl
    auth_filter = store_authorized(action="search", value=value, user=user)
    try:
        combined = _with_auth_filter(value["filter"], auth_filter)
    except _NoMatch:
        return []
    return store_for_sync().search(
        value["namespace"],
        filter=combined,
        limit=value["limit"],
        offset=value["offset"],
        query=value["query"] or None,
        refresh_ttl=value["refresh_ttl"],
    )


def store_namespace_list(
    *,
    prefix: Sequence[str] | None = None,
    suffix: Sequence[str] | None = None,
    max_depth: int | None = None,
    limit: int = 100,
    offset: int = 0,
    user: AuthUser | None = None,
) -> list[list[str]]:
    value = {"namespace": namespace_tuple(prefix) or None, "suffix": namespace_tuple(suffix) or None}
    value |= {"max_depth": max_depth, "limit": limit, "offset": offset}
    authorize_sync(resource="store", action="list_namespaces", value=value, user=user)
    prefix, suffix = (store_namespace(value, name, optional=True) for name in ("namespace", "suffix"))
    found = store_for_sync().list_namespaces(
        prefix=namespace_tuple(prefix) or None,
        suffix=namespace_tuple(suffix) or None,
        max_depth=value["max_depth"],
        limit=value["limit"],
        offset=value["offset"],
    )
    return [list(namespace) for namespace in found]
