"""Graphs that inject faults into the worker process that runs them (tests/integration/test_recovery_broker.py)."""

from __future__ import annotations

from typing import TypedDict

from langgraph.graph import START, StateGraph


class FaultState(TypedDict, total=False):
    done: bool


def break_consumer(state: FaultState) -> FaultState:
    """Leave this worker's consumer connected with its event loop running but polling no queue: the way a
    reconnect bug strands a worker (kombu#2007: channels missing from the poller after a reconnect)."""
    from agentplatform.consumer_watchdog import _Process

    consumer = _Process.watchdog.consumer
    poller = consumer.connection.transport.cycle
    consumer.hub.call_soon(poller._channels.clear)  # in the event loop's own thread
    return {"done": True}


stop_consuming = StateGraph(FaultState).add_node("break", break_consumer).add_edge(START, "break").compile()


def break_consumer_for_good(state: FaultState) -> FaultState:
    """As break_consumer, and no channel opened later is polled either: reconnecting cannot repair it."""
    from kombu.transport import redis

    redis.MultiChannelPoller.add = lambda poller, channel: None
    return break_consumer(state)


stop_consuming_for_good = (
    StateGraph(FaultState).add_node("break", break_consumer_for_good).add_edge(START, "break").compile()
)
