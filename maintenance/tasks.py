"""Periodic maintenance run by Celery beat."""

from __future__ import annotations

from celery import shared_task

from maintenance import services


@shared_task(name="maintenance.sweep_expired_threads", ignore_result=True)
def sweep_expired_threads() -> int:
    return services.threads_sweep_expired()
