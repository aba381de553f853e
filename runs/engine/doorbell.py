"""The one place that sends Celery messages for runs. A message is only a doorbell: "look at this run's thread".

Messages may be lost or duplicated; the claim in Postgres decides what runs, and the sweeper re-rings a pending
run whose doorbell was not answered within PENDING_RUN_RESEND_SECS. So a failed send is logged, never raised: the
run is already committed, and the client must get its 2xx.

A delayed run (`after_seconds`) is rung with a Celery countdown only when its delay is short: a worker holds a
countdown message unacknowledged until it is due, so long countdowns pile up in the workers' memory and die with
a worker that holds them (and came back as duplicates after kombu's 1 h visibility timeout while its ack emulation
was on). Longer delays are rung by the
sweeper once due (runs.engine.sweeper.run_ring_due), from Postgres.
"""

from __future__ import annotations

import logging
from uuid import UUID

from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)

EXECUTE_RUN_TASK = "runs.tasks.execute_run"
# Delays up to this ring at creation with a countdown (start on time); longer ones wait for the sweeper.
COUNTDOWN_MAX_SECS = 2.0


def rings_at_creation(delay_secs: float) -> bool:
    """Whether a run delayed by `delay_secs` is rung when created (else: by the sweeper once due)."""
    return delay_secs <= COUNTDOWN_MAX_SECS


def ring(run_id: UUID | str, countdown: float | None = None) -> None:
    from agentplatform.celery import app

    options = {"countdown": countdown} if countdown else {}
    try:
        app.send_task(EXECUTE_RUN_TASK, args=[str(run_id)], **options)
    except Exception:
        logger.warning("could not ring for run %s; the sweeper will", run_id, exc_info=True)


def waiting() -> int | None:
    """How many doorbells wait in the run queue, or None when the broker cannot say (the sweeper's flood guard)."""
    from agentplatform.celery import app

    queue = app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)  # a sweep must not wait for a broker that is away
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        return 0  # a passive declare of a queue nobody wrote to yet: an empty queue
    except Exception as exc:  # noqa: BLE001 - the broker is away; the caller decides
        logger.warning("could not read the length of the run queue: %s", exc)
        return None
