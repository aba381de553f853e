"""Cancel requests reach the worker executing the run within milliseconds (design.md invariant 5).

The API writes the request to Postgres (Run.cancel_action) and, after commit, publishes a control message
(agentplatform.stream_log.publish_cancel_sync). Each worker process has one subscriber thread and one Redis
connection, whatever number of runs it executes: it hands each message to the RunControl of the run, if that run
executes here. Messages are lost while Redis is away; the worker's poll of cancel_action in Postgres
(runs.engine.worker) then still stops the run within a second, so this module only makes cancels faster.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

from agentplatform import stream_log
from runs.engine.executor import CancelReason, RunControl

logger = logging.getLogger(__name__)

_ACTIONS = {reason.value: reason for reason in (CancelReason.INTERRUPT, CancelReason.ROLLBACK)}
_RETRY_MAX_SECS = 5.0


class _Listener:
    def __init__(self) -> None:
        self.controls: dict[str, RunControl] = {}
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.subscribed = threading.Event()
        self.stop = threading.Event()

    def start_once(self) -> None:
        # Started on first use, so that a forked child starts its own (threads do not survive fork).
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.subscribed = threading.Event()
        threading.Thread(target=self.run, name="cancel-listener", daemon=True).start()

    def run(self) -> None:
        delay = 0.1
        while not self.stop.is_set():
            try:
                stream_log.listen_cancels(self.deliver, self.stop, self.on_subscribed)
            except Exception as exc:  # noqa: BLE001 - Redis away or a bug: keep the fallback poll, retry
                if self.subscribed.is_set():
                    delay = 0.1  # it worked until now: reconnect at once
                self.subscribed.clear()
                logger.warning("cancel messages unavailable (%s); retrying in %.1fs", exc, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, _RETRY_MAX_SECS)
            else:
                return

    def on_subscribed(self) -> None:
        self.subscribed.set()

    def deliver(self, run_id: str, action: str) -> None:
        with self.lock:
            control = self.controls.get(run_id)
        reason = _ACTIONS.get(action)
        if control is not None and reason is not None:
            control.cancel(reason)


_listener = _Listener()


def start() -> None:
    """Subscribe now (worker start-up), so the first run's cancel is not left to the poll."""
    _listener.start_once()


def watch(run_id: uuid.UUID | str, control: RunControl) -> None:
    """Deliver cancel messages for `run_id` to `control` until unwatch()."""
    _listener.start_once()
    with _listener.lock:
        _listener.controls[str(run_id)] = control


def unwatch(run_id: uuid.UUID | str) -> None:
    with _listener.lock:
        _listener.controls.pop(str(run_id), None)


def wait_subscribed(timeout: float) -> bool:
    """Whether this process's subscription is up (within `timeout` seconds); for start-up and tests."""
    _listener.start_once()
    return _listener.subscribed.wait(timeout)
