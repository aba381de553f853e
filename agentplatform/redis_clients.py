"""Redis clients, created lazily: one synchronous client per process, one asyncio client per event loop."""

from __future__ import annotations

import asyncio
import threading

import redis
import redis.asyncio as aredis
from django.conf import settings

_sync_client: redis.Redis | None = None
_sync_lock = threading.Lock()
_async_clients: dict[int, aredis.Redis] = {}


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
        client = aredis.Redis.from_url(settings.REDIS_URI, health_check_interval=30)
        _async_clients[key] = client
    return client


async def close_async_redis() -> None:
    """Close the running loop's client (a loop that is going away must not leave it to a later loop)."""
    client = _async_clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()
