"""Redis clients, created lazily: one synchronous client per process, one asyncio client per event loop.

The asyncio client's pool is bounded (REDIS_MAX_CONNECTIONS): a command waits for a free connection rather than
opening one more, so a crowd of stream clients queues for a moment instead of failing. Nothing holds a pooled
connection for long: blocking stream reads go through the one connection of `async_blocking_redis`.
"""

from __future__ import annotations

import asyncio
import threading

import redis
import redis.asyncio as aredis
from django.conf import settings

_sync_client: redis.Redis | None = None
_sync_lock = threading.Lock()
_async_clients: dict[int, aredis.Redis] = {}
# How long a command waits for a free pooled connection before it fails like an unreachable Redis.
POOL_WAIT_SECONDS = 20


def sync_redis() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        with _sync_lock:
            if _sync_client is None:
                _sync_client = redis.Redis.from_url(settings.REDIS_URI, health_check_interval=30)
    return _sync_client


def async_redis() -> aredis.Redis:
    """The client for the running loop (a client's connections belong to the loop that opened them)."""
    key = id(asyncio.get_running_loop())
    client = _async_clients.get(key)
    if client is None:
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URI,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            health_check_interval=30,
        )
        client = aredis.Redis(connection_pool=pool)
        _async_clients[key] = client
    return client


def async_blocking_redis(block_seconds: float) -> aredis.Redis:
    """A new client with one connection of its own, for a command that blocks up to `block_seconds` (XREAD BLOCK).

    Its socket timeout is a little longer than the block, so a Redis host that vanished without closing the
    connection is noticed instead of waited on forever.
    """
    return aredis.Redis.from_url(
        settings.REDIS_URI,
        single_connection_client=True,
        socket_connect_timeout=5,
        socket_timeout=block_seconds + 5,
        health_check_interval=30,
    )


async def close_async_redis() -> None:
    """Close the running loop's client (a loop that is going away must not leave it to a later loop)."""
    client = _async_clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()
