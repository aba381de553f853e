"""Cancel control messages through real Redis: one subscription per process delivers a cancel to the run's
RunControl in milliseconds, ignores what is not for this process, and survives a lost connection."""

from __future__ import annotations

import statistics
import time
import uuid

from agentplatform import stream_log
from agentplatform.redis_clients import sync_redis
from runs.engine import cancel_listener
from runs.engine.executor import CancelReason, RunControl


def cancelled_within(control: RunControl, seconds: float, started: float | None = None) -> float | None:
    """Seconds from `started` (now) until the control was cancelled, or None if not within `seconds`."""
    started = time.monotonic() if started is None else started
    while time.monotonic() - started < seconds:
        if control.reason is not None:
            return time.monotonic() - started
        time.sleep(0.0005)
    return None


def watched() -> tuple[uuid.UUID, RunControl]:
    run_id, control = uuid.uuid4(), RunControl()
    cancel_listener.watch(run_id, control)
    return run_id, control


def test_a_cancel_message_reaches_the_watched_run_in_milliseconds():
    assert cancel_listener.wait_subscribed(10)
    latencies = []
    for action in ["interrupt", "rollback"] * 10:
        run_id, control = watched()
        sent = time.monotonic()
        stream_log.publish_cancel_sync(run_id, action)
        latencies.append(cancelled_within(control, 2, sent))
        cancel_listener.unwatch(run_id)
        assert control.reason == CancelReason(action)
    p50, worst = statistics.median(latencies) * 1000, max(latencies) * 1000
    print(f"cancel message to RunControl: p50 {p50:.2f} ms, max {worst:.2f} ms")
    assert max(latencies) < 1.0


def test_messages_for_other_runs_or_unknown_actions_change_nothing():
    assert cancel_listener.wait_subscribed(10)
    run_id, control = watched()
    stream_log.publish_cancel_sync(uuid.uuid4(), "interrupt")
    stream_log.publish_cancel_sync(run_id, "lease_lost")
    assert cancelled_within(control, 0.3) is None
    cancel_listener.unwatch(run_id)
    stream_log.publish_cancel_sync(run_id, "interrupt")
    assert cancelled_within(control, 0.3) is None, "an unwatched run is not this process's any more"


def test_the_subscription_comes_back_after_its_connection_is_killed():
    assert cancel_listener.wait_subscribed(10)
    sync_redis().client_kill_filter(_type="pubsub")
    run_id, control = watched()
    deadline = time.monotonic() + 10
    while control.reason is None and time.monotonic() < deadline:
        stream_log.publish_cancel_sync(run_id, "interrupt")
        cancelled_within(control, 0.1)
    cancel_listener.unwatch(run_id)
    assert control.reason is CancelReason.INTERRUPT
