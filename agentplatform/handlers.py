"""Two Django ASGI handlers: the admin's, with sessions/auth/CSRF/static files, and a lean one for the API.

Every synchronous-only middleware costs each request a hop to a worker thread and back; the API needs none of
them (no sessions, no cookies), so API requests skip them and async views run on the event loop directly.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test.utils import override_settings


def admin_prefixes() -> tuple[str, ...]:
    """Paths served by the full middleware stack (the admin, where enabled, and static files); the rest is the API."""
    if not settings.ADMIN_ENABLED:
        return ("/static/",)
    return (f"/{settings.ADMIN_PATH}", "/static/")


class _RequestThreads:
    """Single-thread executors lent to one request at a time, then kept for the next.

    A request's synchronous code (a DRF view, closing the response) runs in one thread of its own, as Django
    wants; by default asgiref starts that thread for the request and another one to join it afterwards, which
    costs every request two thread starts. Idle executors beyond `keep` are shut down.
    """

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self.idle: list[ThreadPoolExecutor] = []
        self.lock = threading.Lock()

    def lend(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self.lock:
            if len(self.idle) < self.keep:
                self.idle.append(executor)
                return
        executor.shutdown(wait=False)


class ApiASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self.request_threads = _RequestThreads()

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; give it the API's list while the chain is built, once at start.
        with override_settings(MIDDLEWARE=settings.API_MIDDLEWARE):
            super().load_middleware(is_async=is_async)

    async def __call__(self, scope, receive, send) -> None:
        # Django enters a ThreadSensitiveContext of its own, which an enclosing one with an executor overrides.
        executor = self.request_threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await super().__call__(scope, receive, send)
        finally:
            self.request_threads.give_back(executor)


def http_application():
    admin_app, api_app = ASGIHandler(), ApiASGIHandler()
    prefixes = admin_prefixes()

    async def app(scope, receive, send):
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))  # below http.mount_prefix
        handler = admin_app if path.startswith(prefixes) else api_app
        await handler(scope, receive, send)

    return app
