"""LangGraph's Postgres checkpointer (and store) wired to our database, one pool per process or event loop.

Pools are opened lazily: never at import time and never shared across fork. The API uses the synchronous saver
for state reads and writes; workers use the asynchronous one on their run loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from agentplatform.embeddings import resolve_embeddings
from agentplatform.langgraph_config import ConfigError, load_config
from agentplatform.store_backend import (
    PlatformAsyncPostgresStore,
    PlatformPostgresStore,
    parse_store_index,
    parse_store_ttl,
)

# prepare_threshold=None keeps the pools usable behind pgbouncer in transaction mode.
_CONN_KWARGS = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": None}


def database_conninfo(alias: str = "default") -> str:
    """The libpq conninfo of a Django database (so tests using a test database get the same one)."""
    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def _sync_pool(name: str) -> ConnectionPool:
    return ConnectionPool(
        database_conninfo(),
        kwargs=_CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=True,
        check=ConnectionPool.check_connection,
        name=name,
    )


async def _async_pool(name: str) -> AsyncConnectionPool:
    """A pool opened on the running loop (psycopg binds async pools to the loop that opens them)."""
    pool = AsyncConnectionPool(
        database_conninfo(),
        kwargs=_CONN_KWARGS,
        min_size=1,
        max_size=settings.CHECKPOINTER_POOL_MAX,
        open=False,
        check=AsyncConnectionPool.check_connection,
        name=name,
    )
    await pool.open()
    return pool


class _SyncState:
    lock = threading.Lock()
    pool: ConnectionPool | None = None
    saver: PostgresSaver | None = None


def sync_checkpointer() -> PostgresSaver:
    if _SyncState.saver is None:
        with _SyncState.lock:
            if _SyncState.saver is None:
                pool = _sync_pool("checkpointer-sync")
                _SyncState.pool = pool
                _SyncState.saver = PostgresSaver(pool)
    return _SyncState.saver


def close_sync_checkpointer() -> None:
    """Close this process's checkpointer pool (tests drop their database afterwards)."""
    with _SyncState.lock:
        pool, _SyncState.pool, _SyncState.saver = _SyncState.pool, None, None
    if pool is not None:
        pool.close()


@dataclass
class _LoopSavers:
    """One pool per event loop, shared by several savers: a saver serializes its operations behind its own
    lock even when each operation takes its own pooled connection, so concurrent runs take turns among many."""

    pool: AsyncConnectionPool
    savers: list[AsyncPostgresSaver]
    turn: itertools.count = field(default_factory=itertools.count)

    def next(self) -> AsyncPostgresSaver:
        return self.savers[next(self.turn) % len(self.savers)]


_async_savers: dict[int, _LoopSavers] = {}


async def async_checkpointer() -> AsyncPostgresSaver:
    """A saver bound to the running event loop (its pool is opened on first use)."""
    key = id(asyncio.get_running_loop())
    found = _async_savers.get(key)
    if found is None:
        pool = await _async_pool("checkpointer-async")
        savers = [AsyncPostgresSaver(pool) for _ in range(settings.CHECKPOINTER_POOL_MAX)]
        found = _async_savers.setdefault(key, _LoopSavers(pool, savers))
        if found.pool is not pool:
            await pool.close()
    return found.next()


async def close_async_checkpointer() -> None:
    found = _async_savers.pop(id(asyncio.get_running_loop()), None)
    if found is not None:
        await found.pool.close()


def setup_checkpointer_tables(conninfo: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (idempotent; needs autocommit for CONCURRENTLY)."""
    with psycopg.connect(conninfo, **_CONN_KWARGS) as conn:
        PostgresSaver(conn).setup()


class _StoreOptions:
    """`store` of langgraph.json, read once per process; embeddings are loaded only when a store is built."""

    lock = threading.Lock()
    loaded = False
    index: dict | None = None
    ttl: dict | None = None
    embeddings: Any = None


def _load_store_options() -> _StoreOptions:
    if not _StoreOptions.loaded:
        with _StoreOptions.lock:
            if not _StoreOptions.loaded:
                section = load_config(settings.LANGGRAPH_CONFIG).store
                _StoreOptions.index = parse_store_index(section.get("index"))
                _StoreOptions.ttl = parse_store_ttl(section.get("ttl"))
                _StoreOptions.loaded = True
    return _StoreOptions


def store_index_config() -> dict | None:
    """The validated `store.index` (dims, embed, fields...) or None when semantic search is off."""
    return _load_store_options().index


def store_ttl_config() -> dict:
    return dict(_load_store_options().ttl)


def _store_index() -> dict | None:
    options = _load_store_options()
    if options.index is None:
        return None
    if options.embeddings is None:
        with options.lock:
            if options.embeddings is None:
                base_dir = load_config(settings.LANGGRAPH_CONFIG).base_dir
                options.embeddings = resolve_embeddings(options.index["embed"], base_dir)
    return {**options.index, "embed": options.embeddings}


def reset_store_options() -> None:
    """Forget the parsed `store` section (tests switch langgraph.json files)."""
    with _StoreOptions.lock:
        _StoreOptions.loaded, _StoreOptions.index, _StoreOptions.ttl, _StoreOptions.embeddings = False, None, None, None


class _SyncStoreState:
    lock = threading.Lock()
    pool: ConnectionPool | None = None
    store: PostgresStore | None = None


def store_for_sync() -> PostgresStore:
    """The store handed to graphs and used by the Store API (one pool per process, opened on first use)."""
    if _SyncStoreState.store is None:
        with _SyncStoreState.lock:
            if _SyncStoreState.store is None:
                pool = _sync_pool("store-sync")
                try:
                    store = PlatformPostgresStore(pool, index=_store_index(), ttl=store_ttl_config())
                    if store.index_config:
                        with pool.connection() as conn:
                            require_pgvector(conn)
                    # Idempotent; creates the vector tables when an index was configured after the first migrate.
                    store.setup()
                except BaseException:
                    pool.close()
                    raise
                _SyncStoreState.pool, _SyncStoreState.store = pool, store
    return _SyncStoreState.store


def close_sync_store() -> None:
    """Close this process's store pool (tests drop their database afterwards)."""
    with _SyncStoreState.lock:
        pool, _SyncStoreState.pool, _SyncStoreState.store = _SyncStoreState.pool, None, None
    if pool is not None:
        pool.close()


_async_stores: dict[int, tuple[AsyncConnectionPool, AsyncPostgresStore]] = {}


async def store_for_async() -> AsyncPostgresStore:
    """The store bound to the running event loop, the one workers hand to graphs."""
    key = id(asyncio.get_running_loop())
    found = _async_stores.get(key)
    if found is None:
        pool = await _async_pool("store-async")
        try:
            store = await _async_store_on(pool)
        except BaseException:
            await pool.close()
            raise
        found = _async_stores.setdefault(key, (pool, store))
        if found[0] is not pool:
            await pool.close()
    return found[1]


async def _async_store_on(pool: AsyncConnectionPool) -> AsyncPostgresStore:
    store = PlatformAsyncPostgresStore(pool, index=_store_index(), ttl=store_ttl_config())
    if store.index_config:
        async with pool.connection() as conn:
            cursor = await conn.execute(_PGVECTOR_QUERY)
            if await cursor.fetchone() is None:
                raise ConfigError(PGVECTOR_MISSING)
    await store.setup()
    return store


async def close_async_store() -> None:
    found = _async_stores.pop(id(asyncio.get_running_loop()), None)
    if found is not None:
        await found[0].close()


def setup_store_tables(conninfo: str) -> None:
    """Create or upgrade the store tables; the vector table only when `store.index` is configured."""
    index = store_index_config()
    with psycopg.connect(conninfo, **_CONN_KWARGS) as conn:
        if index is not None:
            require_pgvector(conn)
            # setup() needs the dimensions only; no model is loaded for a migration.
            index = {**index, "embed": lambda texts: [[0.0] * index["dims"] for _ in texts]}
        PlatformPostgresStore(conn, index=index, ttl=store_ttl_config()).setup()


_PGVECTOR_QUERY = "SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'"


def pgvector_available(conn: psycopg.Connection) -> bool:
    return conn.execute(_PGVECTOR_QUERY).fetchone() is not None


def require_pgvector(conn: psycopg.Connection) -> None:
    if not pgvector_available(conn):
        raise ConfigError(PGVECTOR_MISSING)


PGVECTOR_MISSING = (
    "langgraph.json configures store.index (semantic search), which needs the pgvector extension, but this "
    "PostgreSQL server does not have it: install pgvector on the server (https://github.com/pgvector/pgvector) "
    "or remove store.index from langgraph.json."
)
