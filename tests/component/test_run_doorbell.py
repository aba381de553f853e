"""The doorbell against real Redis: the message pushed directly is the one Celery's own publish would send, read
back through kombu as a worker reads it."""

from __future__ import annotations

import uuid

import pytest

from agentplatform.celery import app
from runs.engine import doorbell

QUEUE = "doorbell-test"


@pytest.fixture
def queue():
    """A queue of the test's own: a worker of the integration stack may be consuming the run queue."""
    default, app.conf.task_default_queue = app.conf.task_default_queue, QUEUE
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            channel.queue_purge(QUEUE)
            yield channel
            channel.queue_purge(QUEUE)
    finally:
        app.conf.task_default_queue = default


def _received(channel):
    message = channel.basic_get(QUEUE, no_ack=True)
    assert message is not None, "nothing in the run queue"
    return message


def _celery_published(run_id: str, countdown: float | None):
    options = {"countdown": countdown} if countdown else {}
    app.send_task(doorbell.EXECUTE_RUN_TASK, args=[run_id], queue=QUEUE, **options)


@pytest.mark.parametrize("countdown", [None, 1.5])
def test_a_doorbell_reads_back_as_the_message_celery_itself_would_publish(queue, countdown):
    run_id = str(uuid.uuid4())
    assert doorbell._direct_client(app) is not None, "the test broker is a plain Redis: the direct push applies"
    doorbell.ring(run_id, countdown=countdown)
    ours = _received(queue)
    _celery_published(run_id, countdown)
    theirs = _received(queue)

    assert (
        ours.decode()
        == theirs.decode()
        == [[run_id], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    assert ours.content_type == theirs.content_type and ours.content_encoding == theirs.content_encoding
    assert set(ours.headers) == set(theirs.headers)
    varying = {"id", "root_id", "eta"}
    assert {k: v for k, v in ours.headers.items() if k not in varying} == {
        k: v for k, v in theirs.headers.items() if k not in varying
    }
    assert ours.headers["id"] == ours.headers["root_id"] == ours.properties["correlation_id"]
    assert (ours.headers["eta"] is None) == (countdown is None)
    assert ours.delivery_info["routing_key"] == theirs.delivery_info["routing_key"] == QUEUE
