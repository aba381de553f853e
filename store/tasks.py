"""Periodic store maintenance run by Celery beat."""

from __future__ import annotations

from celery import shared_task

from store import services


@shared_task(name="store.sweep_expired_items", ignore_result=True)
def sweep_expired_items() -> int:
    return services.store_items_sweep_expired()
