"""The one place that sends Celery messages for runs. A message is only a doorbell: "look at this run's thread".

Messages may be lost or duplicated; the claim in Postgres decides what runs, and the sweeper re-rings a pending
run whose doorbell was not answered within PENDING_RUN_RESEND_SECS. So a failed send is logged, never raised: the
run is already committed, and the client must get its 2xx.

A delayed run (`after_seconds`) is rung with a Celery countdown only when its delay is short: a worker holds a
countdown message unacknowledged until it is due, so long countdowns pile up in the workers' memory and die with
a worker that holds them (and came back as duplicates after kombu's 1 h visibility timeout while its ack emulation
was on). Longer delays are rung by the
sweeper once due (runs.engine.sweeper.run_ring_due), from Postgres.

On a plain Redis broker the message (Celery's own, `as_task_v2`) is pushed with one LPUSH instead of Celery's
publish (`_direct_client` says when); a worker reads it exactly as one Celery sent.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from uuid import UUID

import redis
from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)
_direct: list[redis.Redis | None] = []  # [client] once decided; [None]: publish through Celery's producer
_direct_lock = threading.Lock()

EXECUTE_RUN_TASK = "runs.tasks.execute_run"
# Delays up to this ring at creation with a countdown (start on time); longer ones wait for the sweeper.
COUNTDOWN_MAX_SECS = 2.0


def rings_at_creation(delay_secs: float) -> bool:
    """Whether a run delayed by `delay_secs` is rung when created (else: by the sweeper once due)."""
    return delay_secs <= COUNTDOWN_MAX_SECS


def ring(run_id: UUID | str, countdown: float | None = None) -> None:
    from agentplatform.celery import app

    try:
        client = _direct_client(app)
        if client is not None:
            client.lpush(app.conf.task_default_queue, _message(app, str(run_id), countdown))
            return
        options = {"countdown": countdown} if countdown else {}
        app.send_task(EXECUTE_RUN_TASK, args=[str(run_id)], **options)
    except Exception:
        logger.warning("could not ring for run %s; the sweeper will", run_id, exc_info=True)


def _direct_client(app) -> redis.Redis | None:
    """A Redis client to push doorbells with, when the broker is a plain Redis that nobody hooks into.

    Celery's publish (producer pool, connection checks, a new Redis client per message, declarations) costs about
    ten times the LPUSH it ends in, on every run create. The message itself is still Celery's (`as_task_v2`); only
    kombu's Redis envelope is written here. Anything that would make the two differ (another transport, a key
    prefix, publish signals, routes) keeps Celery's own path.
    """
    if not _direct:
        with _direct_lock:
            if not _direct:
                _direct.append(_plain_redis_broker(app))
    return _direct[0]


def _plain_redis_broker(app) -> redis.Redis | None:
    from agentplatform.celery import publish_hooked

    conf = app.conf
    options = conf.broker_transport_options or {}
    hooked = publish_hooked()
    special = {"global_keyprefix", "sep", "priority_steps", "queue_order_strategy"} & set(options)
    url = str(conf.broker_url or "")
    # A sent event for flower (CELERY_TASK_EVENTS) is emitted only by Celery's own publish.
    if (
        hooked
        or special
        or conf.task_routes
        or conf.task_send_sent_event
        or not url.startswith(("redis://", "rediss://"))
    ):
        return None
    return redis.Redis.from_url(
        url,
        socket_timeout=options.get("socket_timeout"),
        socket_connect_timeout=options.get("socket_connect_timeout"),
        socket_keepalive=options.get("socket_keepalive"),
        health_check_interval=options.get("health_check_interval", 0),
    )


def _message(app, run_id: str, countdown: float | None) -> str:
    """execute_run(run_id) as kombu's Redis transport stores a message: Celery's headers and body, the body in
    base64, routed by the default exchange to the run queue."""
    task_id = str(uuid.uuid4())
    message = app.amqp.as_task_v2(
        task_id, EXECUTE_RUN_TASK, args=[run_id], countdown=countdown or None, ignore_result=None
    )
    body = base64.b64encode(json.dumps(message.body).encode()).decode()
    properties = {
        **message.properties,
        "delivery_mode": 2,
        "delivery_info": {"exchange": "", "routing_key": app.conf.task_default_queue},
        "priority": 0,
        "body_encoding": "base64",
        "delivery_tag": str(uuid.uuid4()),
    }
    envelope = {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": properties,
    }
    return json.dumps(envelope)


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
