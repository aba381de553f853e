"""The one place that sends Celery messages for runs. A message is only a doorbell: "look at this run's thread".

Messages may be lost or duplicated; the claim in Postgres decides what runs, and the sweeper re-rings a pending
run whose doorbell was not answered within PENDING_RUN_RESEND_SECS. So a failed send is logged, never raised: the
run is already committed, and the client must get its 2xx.
"""

from __future__ import annotations

import logging
from uuid import UUID

logger = logging.getLogger(__name__)

EXECUTE_RUN_TASK = "runs.tasks.execute_run"


def ring(run_id: UUID | str, countdown: float | None = None) -> None:
    from agentplatform.celery import app

    options = {"countdown": countdown} if countdown else {}
    try:
        app.send_task(EXECUTE_RUN_TASK, args=[str(run_id)], **options)
    except Exception:
        logger.warning("could not ring for run %s; the sweeper will", run_id, exc_info=True)
