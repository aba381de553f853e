"""ASGI entry point for Daphne: HTTP goes to Django (SSE included), websockets to Channels consumers, and the custom
app of langgraph.json `http.app`, when there is one, in front of both (agentplatform.serving)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

import django
from channels.routing import ProtocolTypeRouter, URLRouter

django.setup(set_prefix=False)

from agentplatform import daphne_server, serving, startup  # noqa: E402
from agentplatform.backpressure import bounded_send  # noqa: E402
from agentplatform.handlers import http_application  # noqa: E402
from agentplatform.http_options import http_options  # noqa: E402
from runs.streams.routing import websocket_urlpatterns  # noqa: E402

daphne_server.tune_daphne()
startup.process_start(kind="api")

websockets = [route for route in websocket_urlpatterns if http_options().serves(str(route.pattern))]
api = ProtocolTypeRouter({"http": http_application(), "websocket": URLRouter(websockets)})
# Streamed responses wait for their clients, and one that stops reading is disconnected (backpressure.py);
# outermost, so that it sees Daphne's own `send`, whatever a custom app's middleware does.
application = bounded_send(serving.application(api))
