"""LangGraph's Postgres store as graphs and the Store API use it: one per process for the API (sync), one per
event loop for workers (async), both built lazily from langgraph.json (agentplatform.lazy)."""

from __future__ import annotations

from typing import Any

import psycopg
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore

from agentplatform.langgraph_config import ConfigError
from agentplatform.lazy import PerLoop, PerProcess
from agentplatform.persistence import CONN_KWARGS, async_pool, sync_pool
from store.config import store_index, store_index_config, store_ttl_config

_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FILTER_OPERATORS = frozenset({"$eq", "$ne", *_RANGE_SQL})


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


def _open_sync_store() -> PlatformPostgresStore:
    pool = sync_pool("store-sync")
    try:
        store = PlatformPostgresStore(pool, index=store_index(), ttl=store_ttl_config())
        if store.index_config:
            with pool.connection() as conn:
                require_pgvector(conn)
        # Idempotent; creates the vector tables when an index was configured after the first migrate.
        store.setup()
    except BaseException:
        pool.close()
        raise
    return store


async def _open_async_store() -> PlatformAsyncPostgresStore:
    pool = await async_pool("store-async")
    try:
        store = PlatformAsyncPostgresStore(pool, index=store_index(), ttl=store_ttl_config())
        if store.index_config:
            async with pool.connection() as conn:
                cursor = await conn.execute(PGVECTOR_QUERY)
                if await cursor.fetchone() is None:
                    raise ConfigError(PGVECTOR_MISSING)
        await store.setup()
    except BaseException:
        await pool.close()
        raise
    return store


# A store's `conn` is its pool: closing the store is closing that.
_sync_store: PerProcess[PlatformPostgresStore] = PerProcess(_open_sync_store, lambda store: store.conn.close())
_async_store: PerLoop[PlatformAsyncPostgresStore] = PerLoop(_open_async_store, lambda store: store.conn.close())


def store_for_sync() -> PostgresStore:
    """The store handed to graphs and used by the Store API (one pool per process, opened on first use)."""
    return _sync_store.get()


def close_sync_store() -> None:
    """Close this process's store pool (tests drop their database afterwards)."""
    _sync_store.close()


async def store_for_async() -> AsyncPostgresStore:
    """The store bound to the running event loop, the one workers hand to graphs."""
    return await _async_store.get()


async def close_async_store() -> None:
    await _async_store.close()


def setup_store_tables(conninfo: str) -> None:
    """Create or upgrade the store tables; the vector table only when `store.index` is configured."""
    index = store_index_config()
    with psycopg.connect(conninfo, **CONN_KWARGS) as conn:
        if index is not None:
            require_pgvector(conn)
            # setup() needs the dimensions only; no model is loaded for a migration.
            index = {**index, "embed": lambda texts: [[0.0] * index["dims"] for _ in texts]}
        PlatformPostgresStore(conn, index=index, ttl=store_ttl_config()).setup()


PGVECTOR_QUERY = "SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'"


def pgvector_available(conn: psycopg.Connection) -> bool:
    return conn.execute(PGVECTOR_QUERY).fetchone() is not None


def require_pgvector(conn: psycopg.Connection) -> None:
    if not pgvector_available(conn):
        raise ConfigError(PGVECTOR_MISSING)


PGVECTOR_MISSING = (
    "langgraph.json configures store.index (semantic search), which needs the pgvector extension, but this "
    "PostgreSQL server does not have it: install pgvector on the server (https://github.com/pgvector/pgvector) "
    "or remove store.index from langgraph.json."
)
