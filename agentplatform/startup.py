"""Start-up of a serving process (API or worker): load the graphs, then run the start-up work of the apps.

An app connects a receiver to `process_starting` in its AppConfig.ready() (assistants creates the system
assistants there); the entry points (agentplatform.asgi, the worker_init hook of agentplatform.celery) call
`process_start()` once, after Django is set up and before serving. So the wiring runs the apps' start-up work
without importing them.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.dispatch import Signal

from agentplatform.checks import secret_key_check, unsupported_env_check
from agentplatform.graphs import get_registry
from agentplatform.run_headers import header_patterns
from agentplatform.telemetry import tracing

# Sent with sender="api" or "worker". A receiver that raises stops the process: start-up work is not optional.
process_starting = Signal()


def process_start(*, kind: str) -> None:
    # Daphne and Celery do not run Django's checks: refuse the public development key and encryption keys here too.
    for error in [*secret_key_check(None), *unsupported_env_check(None)]:
        raise ImproperlyConfigured(f"{error.msg} {error.hint}")
    # Graphs load now, so a broken langgraph.json stops start-up instead of failing the first request.
    get_registry()
    header_patterns()
    tracing.setup(kind)
    process_starting.send(sender=kind)
    # Requests and worker pools open connections of their own (a worker forks after this): drop start-up's.
    connections.close_all()
