"""The cron scheduler tick, sent by Celery beat every CRON_SCHEDULER_SLEEP_TIME seconds."""

from __future__ import annotations

from celery import shared_task

from crons import services


@shared_task(name="crons.fire_due_crons", ignore_result=True)
def fire_due_crons() -> int:
    return services.crons_fire_all_due()
