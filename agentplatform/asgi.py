"""ASGI entry point for Daphne: HTTP goes to Django (SSE included), websockets to Channels consumers."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

import django
from channels.routing import ProtocolTypeRouter, URLRouter

django.setup(set_prefix=False)

from agentplatform import startup  # noqa: E402
from agentplatform.backpressure import bounded_send  # noqa: E402
from agentplatform.handlers import http_application  # noqa: E402
from runs.streams.routing import websocket_urlpatterns  # noqa: E402

startup.process_start(kind="api")

# Streamed responses wait for their clients, and one that stops reading is disconnected (backpressure.py).
application = ProtocolTypeRouter(
    {"http": bounded_send(http_application()), "websocket": URLRouter(websocket_urlpatterns)}
)
