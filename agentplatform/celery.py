"""The Celery app: workers execute runs (runs.tasks), beat schedules the sweeper and crons."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import after_task_publish, before_task_publish, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentplatform.settings")

app = Celery("agentplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Workers consume through a watched consumer: it recovers from broker loss by itself or exits for its supervisor.
app.conf.worker_consumer = "agentplatform.consumer_watchdog:WatchedConsumer"


@worker_init.connect
def start_worker_process(**kwargs) -> None:
    """The apps' start-up work (agentplatform.startup), in the parent before any pool fork."""
    import django

    django.setup()
    from agentplatform import startup

    _bound_connection_wait()
    startup.process_start(kind="worker")


def _bound_connection_wait() -> None:
    """A worker waits for a database connection at most a quarter of the lease (at least a second), not the pool's
    30 s: its task threads never outnumber its pool, so a longer wait means the database is unreachable, and a
    lease check stuck there could not stop its run before the lease passed to another worker (docs/reliability.md,
    "A network partition"). Set before the pool is created, on the first connection."""
    from django.conf import settings

    pool = settings.DATABASES["default"]["OPTIONS"].get("pool")
    if isinstance(pool, dict):
        pool["timeout"] = min(pool.get("timeout", 30), max(1.0, settings.BG_JOB_HEARTBEAT / 4))


def publish_hooked() -> bool:
    """Whether something listens to Celery's publish signals (then doorbells go through Celery's own publish)."""
    return bool(before_task_publish.receivers or after_task_publish.receivers)
