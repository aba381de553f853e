"""The consumer watchdog's probes and repair against real Redis, through kombu as the worker uses it."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from kombu import Consumer as KombuConsumer

from agentplatform.celery import app
from agentplatform.consumer_watchdog import Verdict, Watchdog


@pytest.fixture
def watched():
    """(watchdog, consumer connection): a probe consumer on its own connection, as ProbeStep sets it up."""
    dog = Watchdog(app, f"test-{uuid.uuid4().hex[:6]}@host", interval=1, stall=10, repair=30)
    connection = app.connection_for_read()
    consumer = KombuConsumer(connection.channel(), queues=[dog.queue], callbacks=[dog.on_probe], no_ack=True)
    consumer.consume()
    dog.attach(SimpleNamespace(connection=connection))
    yield dog, connection
    dog.stop()
    connection.release()


def test_a_probe_sent_through_the_broker_is_consumed(watched):
    dog, connection = watched
    assert dog.send_probe()
    assert dog.judge(0.0, accepted=True) is Verdict.HEALTHY
    connection.drain_events(timeout=5)
    assert dog.waiting_since is None, "the probe was consumed"


def test_the_nudge_drops_the_consumer_connection_so_that_it_must_reconnect(watched):
    dog, connection = watched
    assert dog.send_probe()
    connection.drain_events(timeout=5)  # the channel's BRPOP connection is open now
    dog.nudge()
    with pytest.raises(connection.connection_errors):
        for _ in range(5):
            dog.send_probe()
            connection.drain_events(timeout=1)


def test_a_broker_that_cannot_be_reached_refuses_the_probe():
    dog = Watchdog(app, "nobody@host", interval=1, stall=10, repair=30)
    dog.app = SimpleNamespace(connection_for_write=lambda: app.connection_for_write("redis://127.0.0.1:1/0"))
    assert not dog.send_probe()
    assert dog.judge(0.0, accepted=False) is Verdict.BROKER_DOWN
