"""The reader's side of the thread-centric protocol without I/O: seq <-> log position, the official
EventStreamRequest rules and subscription matching, the wire envelope; and the command checks."""

from __future__ import annotations

import json

import pytest

from agentplatform.errors import BadRequest
from runs.streams import thread_commands
from runs.streams.thread_events import Subscription, _wire, cursor_of, seq_of, subscription_from


def test_seq_follows_log_order_and_converts_back_to_the_position_after_it():
    ids = ["1796170717412-0", "1796170717412-1", "1796170717413-0", "1796170717413-2047"]
    seqs = [seq_of(entry_id) for entry_id in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(seq < 2**53 for seq in seqs)  # exact in JavaScript
    assert [cursor_of(seq) for seq in seqs] == ids
    assert cursor_of(0) == "0-0"


def test_a_stream_request_needs_known_channels():
    for body in ({"channels": []}, [], {"channels": "values"}):
        with pytest.raises(BadRequest) as refused:
            subscription_from(body)
        assert refused.value.detail == "channels is required and must be a non-empty array"
    with pytest.raises(BadRequest) as refused:
        subscription_from({"channels": ["values", "bogus", 3]})
    assert refused.value.detail.startswith("channels contains unsupported entries: bogus, 3. Allowed: values")


def test_a_stream_request_ignores_what_is_not_a_namespace_depth_or_since():
    request = subscription_from(
        {"channels": ["values", "custom:x"], "namespaces": [["a"], "b", [1]], "depth": True, "since": True}
    )
    assert request == Subscription(frozenset({"values", "custom:x"}), (("a",),), None, None)
    assert subscription_from({"channels": ["values"], "since": 42, "depth": 0}).since == 42


def test_subscriptions_match_channel_then_namespace_prefix_and_depth():
    values = Subscription(frozenset({"values", "input"}))
    assert values.matches("values", ["child:1"])
    assert values.matches("input.requested", [])
    assert not values.matches("messages", [])
    scoped = Subscription(frozenset({"messages"}), (("child",),), depth=0)
    assert scoped.matches("messages", ["child:9"])
    assert not scoped.matches("messages", ["child:9", "inner:1"])
    assert not scoped.matches("messages", [])
    named = Subscription(frozenset({"custom:progress"}))
    assert named.matches("custom:progress", []) and not named.matches("custom:other", [])
    assert Subscription(frozenset({"custom"})).matches("custom:other", [])


def test_the_wire_envelope_is_the_official_one():
    event = _wire("1796170717412-3", "custom:progress", b'{"namespace":[],"timestamp":1,"data":{}}')
    body = json.loads(event.data)
    assert body == {
        "type": "event",
        "event_id": "1796170717412-3",
        "seq": seq_of("1796170717412-3"),
        "method": "custom",
        "params": {"namespace": [], "timestamp": 1, "data": {}},
    }
    assert (event.event, event.id) == ("custom", str(body["seq"]))


def test_a_frame_without_integer_id_and_string_method_is_no_command():
    assert thread_commands.malformed({"id": 1, "method": "run.start"}) is None
    for frame in ({"id": "1", "method": "x"}, {"id": True, "method": "x"}, {"id": 1}, [1]):
        refused = thread_commands.malformed(frame)
        assert refused["error"] == "invalid_argument" and refused["message"] == thread_commands.MALFORMED


def test_run_start_checks_its_params_as_officially():
    assert thread_commands._run_start_error({}) == "run.start requires an assistant_id."
    bad_checkpoint = {"assistant_id": "a", "config": {"configurable": {"checkpoint_id": "nope"}}}
    assert thread_commands._run_start_error(bad_checkpoint) == "Invalid config.configurable.checkpoint_id: 'nope'."
    tracer = {"assistant_id": "a", "langsmith_tracer": {"project_name": 1}}
    assert thread_commands._run_start_error(tracer) == "langsmith_tracer.project_name must be a string."
    assert thread_commands._run_start_error({"assistant_id": "a", "input": {}}) is None


def test_protocol_runs_are_marked_and_default_to_enqueue():
    payload = thread_commands._run_payload("a", {"input": {"x": 1}, "config": {"configurable": {"k": 1}}})
    assert payload["config"]["configurable"] == {"k": 1, "__event_streaming_v2": True}
    assert payload["multitask_strategy"] == "enqueue" and payload["if_not_exists"] == "create"
    resume = thread_commands._run_payload("a", {"multitaskStrategy": "reject"}, command={"resume": 1})
    assert resume["command"] == {"resume": 1} and resume["input"] is None
    assert resume["multitask_strategy"] == "reject"


def test_input_respond_takes_one_answer_or_a_batch():
    assert thread_commands._respond_entries({"interrupt_id": "i", "response": 1}) == [("i", 1)]
    batch = {"responses": [{"interrupt_id": "a", "response": 1}, {"interrupt_id": "b", "response": 2}]}
    assert thread_commands._respond_entries(batch) == [("a", 1), ("b", 2)]
    assert thread_commands._respond_entries({}) == "input.respond requires an interrupt_id."
    assert thread_commands._respond_entries({"responses": []}) == "input.respond requires at least one response."
    wrong = thread_commands._respond_entries({"interrupt_id": "i", "namespace": "x"})
    assert wrong == "input.respond requires namespace to be a list of strings."
