"""A worker whose broker connection no longer delivers work recovers by itself, or exits for its supervisor.

A live worker process that consumes nothing is the worst failure (design.md, "Workers and asyncio"): its runs
stay pending and nothing else notices. Celery's reconnect path keeps having such bugs: workers that reconnected
without consuming (celery#8030, #9054, fixed by kombu#2007), a hang in the cleanup of the lost connection (celery
GH-9705), and in celery 5.7.0 the fix for that hang (celery#10242) closes the collected connection, an
AttributeError escapes and the worker shuts down. So we do not rely on it alone:

1. `WatchedConsumer` (Celery's `worker_consumer`) lets no error in the cleanup of a connection that is already
   lost, or in the event loop, stop the worker: Celery reconnects as it does for any connection loss.
2. `ProbeStep` consumes a queue of this worker's own on the consumer's connection, restarted with it on every
   reconnect, answered in the consumer's event loop (not the pool, so busy run slots never delay it).
3. `Watchdog` (a thread) sends a probe through the broker every WORKER_PROBE_INTERVAL_SECS. While the broker
   accepts probes but none is consumed for WORKER_CONSUMER_STALL_SECS, it raises a connection error in the
   consumer's event loop, so Celery reconnects; if still none is consumed WORKER_CONSUMER_REPAIR_SECS later, the
   worker shuts down with status 1 (runs get the usual BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS, then are released)
   for its supervisor to restart. While the broker refuses probes the consumer is not judged.
4. WORKER_LIVENESS_FILE, when set, is touched on every check the consumer passes (or the broker is down), so
   an exec liveness probe can see a process whose watchdog stopped (deploy/k8s).

No Django app is imported here: the wiring package knows only Celery and the settings.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps, signals
from celery.platforms import EX_FAILURE
from celery.worker import state as worker_state
from celery.worker.consumer import Consumer
from django.conf import settings
from kombu import Connection, Exchange, Queue
from kombu import Consumer as KombuConsumer

logger = logging.getLogger(__name__)

PROBE_QUEUE_PREFIX = "agentplatform.probe."
# A dead worker's probe queue (a few small messages at most) disappears from Redis after this long unused.
PROBE_QUEUE_EXPIRES_SECS = 600.0
# A consumer that lost its broker tries to reconnect at least this often (kombu's default grows to 30 s).
RECONNECT_INTERVAL_MAX_SECS = 3.0
# Past the shutdown grace, a worker that could not stop by itself (its main thread wedged) is ended.
EXIT_DEADLINE_MARGIN_SECS = 30.0
# A consumer event loop failing this often (not by a connection error) is a bug, not a broker hiccup: the worker
# stops with status 1 instead of reconnecting for ever.
LOOP_FAILURE_BUDGET = 5
LOOP_FAILURE_WINDOW_SECS = 300.0


class Verdict(enum.Enum):
    HEALTHY = "healthy"  # probes answered, or the latest unanswered one is recent
    BROKER_DOWN = "broker down"  # the broker refused the probe: nothing to judge the consumer by
    NUDGE = "nudge"  # no probe consumed for the stall time: make Celery reconnect
    REPAIRING = "repairing"  # nudged, waiting for a probe to be consumed
    GIVE_UP = "give up"  # still nothing consumed after the repair time: exit for the supervisor


def probe_queue(hostname: str) -> Queue:
    """The queue only this worker consumes (anonymous exchange: routed by name)."""
    name = PROBE_QUEUE_PREFIX + hostname
    return Queue(name, exchange=Exchange(""), routing_key=name, expires=PROBE_QUEUE_EXPIRES_SECS)


class WatchedConsumer(Consumer):
    """Celery's consumer with the probe step, that reconnects where Celery 5.7.0 would stop the worker."""

    class Blueprint(Consumer.Blueprint):
        default_steps = [*Consumer.Blueprint.default_steps, f"{__name__}:ProbeStep"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop_failures: deque[float] = deque(maxlen=LOOP_FAILURE_BUDGET)
        celery_loop = self.loop
        self.loop = lambda *loop_args: self.run_loop(celery_loop, loop_args)

    def run_loop(self, celery_loop: Callable[..., None], loop_args: tuple) -> None:
        """Celery's event loop; any other error in it is treated as a connection loss, within a budget."""
        try:
            celery_loop(*loop_args)
        except Exception as exc:
            if isinstance(exc, self.connection_errors + self.channel_errors):
                raise
            if not self.may_restart(time.monotonic()):
                logger.critical("the consumer's event loop keeps failing; stopping the worker (status 1)")
                stop_worker(self.hostname)
                raise
            # E.g. kombu raising AttributeError for an ack on a channel of a lost connection: reconnect.
            logger.error("the consumer's event loop failed; reconnecting", exc_info=True)
            raise ConnectionError(f"the consumer's event loop failed: {exc!r}") from exc

    def connection_for_read(self, heartbeat: float | None = None) -> Connection:
        # kombu waits 2 s before retrying a lost broker, 2 s more each time up to 30 s: after a long outage the
        # worker would idle up to 30 s with the broker back. Retry every second, then at most every few seconds.
        connection = self.app.connection_for_read(heartbeat=heartbeat)
        connection.ensure_connection = partial(
            connection.ensure_connection, interval_start=1, interval_step=1, interval_max=RECONNECT_INTERVAL_MAX_SECS
        )
        return self.ensure_connected(connection)

    def may_restart(self, now: float) -> bool:
        self.loop_failures.append(now)
        full = len(self.loop_failures) == self.loop_failures.maxlen
        return not (full and now - self.loop_failures[0] < LOOP_FAILURE_WINDOW_SECS)

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        # Deliveries of the lost connection waiting for a pool slot cannot be acked any more (kombu raises
        # AttributeError trying, once a slot frees); the broker redelivers them or has lost them with its data.
        for request in tuple(worker_state.reserved_requests):
            if request not in worker_state.active_requests:
                request.acknowledged = True
        # celery 5.7.0 collects and then closes the lost connection here; closing the channel restores unacked
        # messages through the collected transport and raises AttributeError, which Celery reports as
        # "Unrecoverable error" and stops the worker. The connection is gone either way: reconnect.
        try:
            super().on_connection_error_after_connected(exc)
        except Exception:
            logger.warning("cleaning up the lost broker connection failed; reconnecting anyway", exc_info=True)
            self.connection = None


class ProbeStep(bootsteps.StartStopStep):
    """Consumes this worker's probe queue on the consumer's connection; started again after every reconnect."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent: Consumer, **kwargs: Any) -> None:
        self.channel = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Consumer) -> None:
        watchdog = watchdog_for(parent)
        self.channel = parent.connection.channel()
        queue = probe_queue(parent.hostname)
        consumer = KombuConsumer(self.channel, queues=[queue], callbacks=[watchdog.on_probe], no_ack=True)
        consumer.consume()
        watchdog.attach(parent)

    def stop(self, parent: Consumer) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            try:
                channel.close()
            except Exception:  # the connection may be lost already; the channel goes with it
                logger.debug("closing the probe channel failed", exc_info=True)

    shutdown = stop


class Watchdog:
    """Sends probes, judges the consumer by them, and repairs or ends the worker (see the module docstring)."""

    def __init__(self, app: Celery, hostname: str, *, interval: float, stall: float, repair: float) -> None:
        self.app, self.hostname = app, hostname
        self.interval, self.stall, self.repair = interval, stall, repair
        self.queue = probe_queue(hostname)
        self.consumer: Consumer | None = None
        self.waiting_since: float | None = None  # first probe the broker accepted since the last one consumed
        self.nudged_at: float | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.connection: Connection | None = None

    def attach(self, consumer: Consumer) -> None:
        self.consumer = consumer

    def on_probe(self, body: Any, message: Any) -> None:
        """Called in the consumer's event loop for every probe consumed: the consumer consumes."""
        with self.lock:
            if self.nudged_at is not None:
                logger.warning("the worker's consumer takes work again")
            self.waiting_since = self.nudged_at = None
        touch_liveness_file()

    def judge(self, now: float, *, accepted: bool) -> Verdict:
        """Decide from the latest probe send (`accepted` by the broker or not) what the consumer's state is."""
        with self.lock:
            if not accepted:
                self.waiting_since = self.nudged_at = None  # an outage starts the judgement again
                return Verdict.BROKER_DOWN
            if self.waiting_since is None:
                self.waiting_since = now
            if self.nudged_at is not None:
                return Verdict.GIVE_UP if now - self.nudged_at >= self.repair else Verdict.REPAIRING
            if now - self.waiting_since >= self.stall:
                self.nudged_at = now
                return Verdict.NUDGE
            return Verdict.HEALTHY

    def check(self) -> Verdict:
        verdict = self.judge(time.monotonic(), accepted=self.send_probe())
        if verdict in (Verdict.HEALTHY, Verdict.BROKER_DOWN):
            touch_liveness_file()
        elif verdict is Verdict.NUDGE:
            self.nudge()
        elif verdict is Verdict.GIVE_UP:
            self.give_up()
        return verdict

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.check()
            except Exception:
                logger.exception("the consumer watchdog's check failed")

    def send_probe(self) -> bool:
        """Publish one probe on a connection of the watchdog's own; False when the broker cannot take it."""
        try:
            if self.connection is None:
                self.connection = self.app.connection_for_write()
                self.connection.connect()  # one attempt: a broker that is down is tried again next check
            producer = self.connection.Producer(serializer="json")
            producer.publish({"at": time.time()}, exchange="", routing_key=self.queue.name, declare=[self.queue])
            return True
        except Exception:  # any failure to publish means the broker is not usable right now
            logger.debug("probe not sent", exc_info=True)
            self.close_connection()
            return False

    def close_connection(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # it is broken already
                logger.debug("closing the probe connection failed", exc_info=True)

    def nudge(self) -> None:
        """Make Celery reconnect the consumer: a connection error raised in its event loop (or, for a consumer
        without one, its broker sockets shut) takes Celery's own reconnect path."""
        consumer = self.consumer
        connection = getattr(consumer, "connection", None)
        logger.error(
            "the worker's consumer took no probe for %.0fs although the broker accepts them; making it reconnect",
            self.stall,
        )
        if connection is None:
            return  # it is reconnecting already
        hub = getattr(consumer, "hub", None)
        if hub is not None:
            hub.call_soon(_lose_connection, consumer, connection)
            return
        for sock in _broker_sockets(connection):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def give_up(self) -> None:
        logger.critical(
            "the worker's consumer still takes no work %.0fs after its connection was dropped; shutting the"
            " worker down with status 1 so that its supervisor starts a fresh one",
            self.repair,
        )
        self.stopped.set()
        stop_worker(self.hostname)

    def stop(self) -> None:
        self.stopped.set()
        self.close_connection()


def stop_worker(hostname: str) -> None:
    """Warm shutdown with status 1, bounded: the supervisor then starts a fresh worker."""
    # The signal a SIGTERM sends: runs get BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS to finish, then are released.
    signals.worker_shutting_down.send(sender=hostname, sig="watchdog", how="Warm", exitcode=EX_FAILURE)
    worker_state.should_stop = EX_FAILURE
    deadline = settings.BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS + EXIT_DEADLINE_MARGIN_SECS
    timer = threading.Timer(deadline, os._exit, args=(EX_FAILURE,))
    timer.daemon = True
    timer.start()


def _lose_connection(consumer: Consumer, connection: Connection) -> None:
    """Run in the consumer's event loop: a connection error there is what makes Celery reconnect."""
    if consumer.connection is connection:  # not reconnected meanwhile
        raise ConnectionError("the consumer watchdog saw no probe consumed")


def _broker_sockets(connection: Connection) -> Iterator[socket.socket]:
    """The sockets the consumer's channels hold open (redis transport: one client per channel)."""
    transport = getattr(connection, "_transport", None)  # the property would create a new transport
    for channel in list(getattr(transport, "channels", None) or ()):
        for name in ("client", "subclient"):
            client = vars(channel).get(name)  # cached values only: the properties would dial the broker
            sock = getattr(getattr(client, "connection", None), "_sock", None)
            if sock is not None:
                yield sock


class _Process:
    watchdog: Watchdog | None = None


def watchdog_for(consumer: Consumer) -> Watchdog:
    """The process's watchdog, started with the consumer's first start."""
    if _Process.watchdog is None:
        watchdog = Watchdog(
            consumer.app,
            consumer.hostname,
            interval=settings.WORKER_PROBE_INTERVAL_SECS,
            stall=settings.WORKER_CONSUMER_STALL_SECS,
            repair=settings.WORKER_CONSUMER_REPAIR_SECS,
        )
        threading.Thread(target=watchdog.run, name="consumer-watchdog", daemon=True).start()
        _Process.watchdog = watchdog
    return _Process.watchdog


def touch_liveness_file() -> None:
    path = settings.WORKER_LIVENESS_FILE
    if path:
        Path(path).touch()


@signals.worker_shutting_down.connect
def _stop_judging_on_shutdown(**_: object) -> None:
    # A stopping worker stops consuming on purpose; its runs may take the whole grace period to finish.
    if _Process.watchdog is not None:
        _Process.watchdog.stop()
