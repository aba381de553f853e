"""The Celery app: workers execute runs (runs.tasks), beat schedules the sweeper and crons."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

app = Celery("agentplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Workers consume through a watched consumer: it recovers from broker loss by itself or exits for its supervisor.
app.conf.worker_consumer = "agentplatform.consumer_watchdog:WatchedConsumer"


@worker_init.connect
def ensure_system_assistants(**kwargs) -> None:
    """Workers may start before any API process: they create the system assistants runs refer to by graph name."""
    import django

    django.setup()
    from django.db import connections

    from agentplatform.graphs import get_registry
    from assistants.services import assistants_ensure_system

    assistants_ensure_system(graph_ids=get_registry().graph_ids())
    # This runs in the parent before any pool fork: never hand a database connection down to children.
    connections.close_all()
