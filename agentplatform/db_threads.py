"""Database work from async code: the one way to run it, and to give its connection back.

Async views, stream readers and on-disconnect actions all call synchronous ORM code. They run it on the thread
pool (not the one thread shared by every sync view: thread_sensitive), and treat each call as a request would
be treated: stale or broken connections are dropped before, and the connection is released after, so a pool
thread holds no pool slot while the response that follows streams for minutes or hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
T = TypeVar("T")


def in_worker_thread(func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """`func` as a coroutine function that runs on the thread pool between two request-like connection checks.

    Not thread-sensitive, so it also works after a view returned (from a streamed body), when the request's
    thread-sensitive executor is gone.
    """

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            # With the pool (CONN_MAX_AGE=0) this hands the connection back; with per-thread persistent
            # connections (DB_POOL_MAX=0) it keeps a healthy one, as Django does at the end of a request.
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)
