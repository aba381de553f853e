"""The one place that sends Celery messages for runs. A message is only a doorbell: "look at this run's thread".

Messages may be lost or duplicated; the claim in Postgres decides what runs, and the sweeper re-rings.
"""

from __future__ import annotations

from uuid import UUID

EXECUTE_RUN_TASK = "runs.tasks.execute_run"


def ring(run_id: UUID | str, countdown: float | None = None) -> None:
    from agentplatform.celery import app

    options = {"countdown": countdown} if countdown else {}
    app.send_task(EXECUTE_RUN_TASK, args=[str(run_id)], **options)
