"""ASGI entry point for Daphne: HTTP goes to Django (SSE included), websockets to Channels consumers."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

import django
from channels.routing import ProtocolTypeRouter, URLRouter

django.setup(set_prefix=False)

from django.db import connections  # noqa: E402

from access.custom_auth import get_custom_auth  # noqa: E402
from agentplatform.graphs import get_registry  # noqa: E402
from agentplatform.handlers import http_application  # noqa: E402
from agentplatform.routing import websocket_urlpatterns  # noqa: E402
from assistants.services import assistants_ensure_system  # noqa: E402

# Load graphs now so a broken langgraph.json stops start-up instead of failing the first request.
registry = get_registry()
get_custom_auth()  # likewise a broken auth.path; actions no auth handler covers are logged here, once
# One system assistant per graph (deterministic ids), as the official server registers them at start.
assistants_ensure_system(graph_ids=registry.graph_ids())
connections.close_all()  # requests run in worker threads with their own connections; drop this start-up one

application = ProtocolTypeRouter({"http": http_application(), "websocket": URLRouter(websocket_urlpatterns)})
