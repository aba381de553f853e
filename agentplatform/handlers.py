"""Two Django ASGI handlers: the admin's, with sessions/auth/CSRF/static files, and a lean one for the API.

Every synchronous-only middleware costs each request a hop to a worker thread and back; the API needs none of
them (no sessions, no cookies), so API requests skip them and async views run on the event loop directly.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test.utils import override_settings


def admin_prefixes() -> tuple[str, ...]:
    """Paths served by the full middleware stack (the admin, where enabled, and static files); the rest is the API."""
    if not settings.ADMIN_ENABLED:
        return ("/static/",)
    return (f"/{settings.ADMIN_PATH}", "/static/")


class ApiASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; give it the API's list while the chain is built, once at start.
        with override_settings(MIDDLEWARE=settings.API_MIDDLEWARE):
            super().load_middleware(is_async=is_async)


def http_application():
    admin_app, api_app = ASGIHandler(), ApiASGIHandler()
    prefixes = admin_prefixes()

    async def app(scope, receive, send):
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))  # below http.mount_prefix
        handler = admin_app if path.startswith(prefixes) else api_app
        await handler(scope, receive, send)

    return app
