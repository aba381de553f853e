"""Celery beat's scheduler, with a liveness file that process managers can probe (deploy/).

Beat only sends doorbells for idempotent sweeps that read Postgres (runs, crons, TTLs), so a beat that stops
loses no run; but nothing else notices a beat that stopped ticking. The file named by BEAT_LIVENESS_FILE is
touched after every tick whose last send reached the broker: its age is how long beat has not been working.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings


def touch(path: str) -> None:
    """Create or refresh the liveness file (its mtime is what a probe reads)."""
    file = Path(path)
    try:
        os.utime(file)
    except FileNotFoundError:
        file.touch()


class LivenessScheduler(PersistentScheduler):
    """The default persistent scheduler, plus the liveness file."""

    send_failed = False

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().apply_async(entry, producer, advance, **kwargs)
        except Exception:
            self.send_failed = True
            raise
        self.send_failed = False
        return result

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay = super().tick(*args, **kwargs)
        if settings.BEAT_LIVENESS_FILE and not self.send_failed:
            touch(settings.BEAT_LIVENESS_FILE)
        return delay
