"""ASGI entry point for Daphne: HTTP goes to Django (SSE included), websockets to Channels consumers."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

import django
from channels.routing import ProtocolTypeRouter, URLRouter

django.setup(set_prefix=False)

from agentplatform import serving, startup  # noqa: E402
from agentplatform.handlers import http_application  # noqa: E402
from runs.streams.routing import websocket_urlpatterns  # noqa: E402

serving.tune_daphne()
startup.process_start(kind="api")

application = ProtocolTypeRouter({"http": http_application(), "websocket": URLRouter(websocket_urlpatterns)})
