"""The consumer watchdog's judgement (agentplatform/consumer_watchdog.py): when it waits, repairs or gives up."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

from agentplatform.consumer_watchdog import (
    LOOP_FAILURE_BUDGET,
    LOOP_FAILURE_WINDOW_SECS,
    Verdict,
    Watchdog,
    WatchedConsumer,
)


def watchdog() -> Watchdog:
    return Watchdog(app=None, hostname="w@h", interval=1, stall=10, repair=30)


def test_a_consumer_answering_its_probes_is_healthy():
    dog = watchdog()
    for now in range(0, 100, 5):
        assert dog.judge(float(now), accepted=True) is Verdict.HEALTHY
        dog.on_probe({}, None)


def test_an_unanswered_probe_is_tolerated_until_the_stall_time():
    dog = watchdog()
    assert dog.judge(0.0, accepted=True) is Verdict.HEALTHY
    assert dog.judge(9.0, accepted=True) is Verdict.HEALTHY
    assert dog.judge(10.0, accepted=True) is Verdict.NUDGE


def test_a_nudged_consumer_gets_the_repair_time_then_the_worker_gives_up():
    dog = watchdog()
    dog.judge(0.0, accepted=True)
    assert dog.judge(10.0, accepted=True) is Verdict.NUDGE
    assert dog.judge(39.0, accepted=True) is Verdict.REPAIRING
    assert dog.judge(40.0, accepted=True) is Verdict.GIVE_UP


def test_a_probe_consumed_after_the_nudge_ends_the_repair():
    dog = watchdog()
    dog.judge(0.0, accepted=True)
    dog.judge(10.0, accepted=True)
    dog.on_probe({}, None)
    assert dog.judge(45.0, accepted=True) is Verdict.HEALTHY
    assert dog.judge(54.0, accepted=True) is Verdict.HEALTHY


def test_the_consumer_is_not_judged_while_the_broker_refuses_probes():
    dog = watchdog()
    dog.judge(0.0, accepted=True)
    for now in range(5, 300, 5):
        assert dog.judge(float(now), accepted=False) is Verdict.BROKER_DOWN
    # The stall time counts from the first probe the broker accepted again (a reconnect takes up to 30 s).
    assert dog.judge(300.0, accepted=True) is Verdict.HEALTHY
    assert dog.judge(309.0, accepted=True) is Verdict.HEALTHY
    assert dog.judge(310.0, accepted=True) is Verdict.NUDGE


def test_an_outage_during_the_repair_starts_the_judgement_again():
    dog = watchdog()
    dog.judge(0.0, accepted=True)
    dog.judge(10.0, accepted=True)
    assert dog.judge(20.0, accepted=False) is Verdict.BROKER_DOWN
    assert dog.judge(100.0, accepted=True) is Verdict.HEALTHY


def test_the_event_loop_is_restarted_until_it_fails_too_often_in_the_window():
    consumer = SimpleNamespace(loop_failures=deque(maxlen=LOOP_FAILURE_BUDGET))
    assert all(WatchedConsumer.may_restart(consumer, float(i)) for i in range(LOOP_FAILURE_BUDGET - 1))
    assert not WatchedConsumer.may_restart(consumer, float(LOOP_FAILURE_BUDGET))


def test_failures_spread_beyond_the_window_never_stop_the_worker():
    consumer = SimpleNamespace(loop_failures=deque(maxlen=LOOP_FAILURE_BUDGET))
    step = LOOP_FAILURE_WINDOW_SECS / (LOOP_FAILURE_BUDGET - 1) + 1
    assert all(WatchedConsumer.may_restart(consumer, i * step) for i in range(3 * LOOP_FAILURE_BUDGET))
