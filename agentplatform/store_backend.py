"""LangGraph's Postgres store as graphs and the Store API use it, and the `store` section of langgraph.json."""

from __future__ import annotations

from typing import Any

from langgraph.store.postgres import AsyncPostgresStore, PostgresStore

from agentplatform.langgraph_config import ConfigError

_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FILTER_OPERATORS = frozenset({"$eq", "$ne", *_RANGE_SQL})
DISTANCE_TYPES = ("cosine", "l2", "inner_product")


class _NumericRangeFilters:
    """LangGraph compares `$gt`-style filters as text ('10' < '9'); numbers are compared as numbers here."""

    def _get_filter_condition(self, key: str, op: str, value: Any) -> tuple[str, list]:
        if op in _RANGE_SQL and isinstance(value, int | float) and not isinstance(value, bool):
            # CASE, not AND: Postgres may evaluate the cast before the type test.
            compare = f"(value->>%s)::float8 {_RANGE_SQL[op]} %s"
            sql = f"CASE WHEN jsonb_typeof(value->%s) = 'number' THEN {compare} ELSE false END"
            return sql, [key, key, float(value)]
        return super()._get_filter_condition(key, op, value)


class PlatformPostgresStore(_NumericRangeFilters, PostgresStore):
    pass


class PlatformAsyncPostgresStore(_NumericRangeFilters, AsyncPostgresStore):
    pass


def parse_store_index(raw: object) -> dict | None:
    """`store.index` validated: {"dims": int, "embed": str, "fields": [...]?, "distance_type"?, "ann_index_config"?}."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(
            'store.index must be an object like {"embed": "openai:text-embedding-3-small", "dims": 1536}.'
        )
    dims, embed = raw.get("dims"), raw.get("embed")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ConfigError(f"store.index.dims must be a positive integer (the embedding size), got {dims!r}.")
    if not embed:
        raise ConfigError('store.index.embed is required, e.g. "agentplatform.embeddings:local_minilm".')
    fields = raw.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise ConfigError('store.index.fields must be a list of JSON paths, e.g. ["$"] or ["title", "content"].')
    if raw.get("distance_type", "cosine") not in DISTANCE_TYPES:
        raise ConfigError(f"store.index.distance_type must be one of {', '.join(DISTANCE_TYPES)}.")
    return {k: v for k, v in raw.items() if k in ("dims", "embed", "fields", "distance_type", "ann_index_config")}


def parse_store_ttl(raw: object) -> dict:
    """`store.ttl` validated; expired items are always hidden from reads, even before a sweep removes them."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError('store.ttl must be an object like {"default_ttl": 60, "refresh_on_read": true}.')
    default_ttl = raw.get("default_ttl")
    if default_ttl is not None and (not isinstance(default_ttl, int | float) or default_ttl <= 0):
        raise ConfigError(f"store.ttl.default_ttl must be a positive number of minutes, got {default_ttl!r}.")
    refresh = raw.get("refresh_on_read", True)
    if not isinstance(refresh, bool):
        raise ConfigError("store.ttl.refresh_on_read must be true or false.")
    interval = raw.get("sweep_interval_minutes")
    if interval is not None and (not isinstance(interval, int | float) or interval <= 0):
        raise ConfigError("store.ttl.sweep_interval_minutes must be a positive number of minutes.")
    return {
        "refresh_on_read": refresh,
        "default_ttl": default_ttl,
        "sweep_interval_minutes": interval,
        "omit_expired": True,
    }
