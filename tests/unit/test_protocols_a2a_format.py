"""A2A's pure parts, against the official server's behaviour: the JSON-RPC envelope checks, A2A parts into run
input, graph messages into A2A history with their tasks, states and the 0.x words."""

from __future__ import annotations

import re

import pytest

from protocols import a2a
from protocols import a2a_format as fmt

RPC = {"jsonrpc": "2.0", "id": 1}
SEND = {**RPC, "method": "message/send"}


@pytest.mark.parametrize(
    ("message", "code", "text"),
    [
        ([1], -32600, "Invalid message format: expected object"),
        ({"id": 1, "method": "message/send"}, -32600, "Invalid JSON-RPC message: missing or invalid jsonrpc version"),
        ({**RPC, "id": {}}, -32600, "Invalid JSON-RPC request: 'id' must be a string, number, or null"),
        ({**RPC, "method": 5}, -32601, "Method not found: method must be a string"),
        ({**RPC, "method": "tasks/list"}, -32601, "Method not found: tasks/list"),
        ({**SEND, "params": []}, -32602, "Invalid params: must be an object"),
        ({**SEND, "params": {}}, -32602, "Missing or invalid 'message' in params"),
    ],
)
def test_malformed_calls_get_the_official_errors(message, code, text):
    refusal = a2a.parse_call(message)
    assert isinstance(refusal, a2a.Refusal) and refusal.early
    assert refusal.outcome == {"error": {"code": code, "message": text}}


def test_slash_methods_are_the_10_methods_answered_in_the_0x_words():
    call = a2a.parse_call({"jsonrpc": "2.0", "id": "x", "method": "message/stream", "params": {"message": {"a": 1}}})
    assert (call.method, call.spec_format, call.streaming) == ("SendStreamingMessage", True, True)
    assert a2a.parse_call({"jsonrpc": "2.0", "id": 1, "method": "GetTask"}).spec_format is False
    assert a2a.parse_call({"jsonrpc": "2.0", "id": 1, "result": {}}).outcome is None  # a response: 202


def test_text_parts_become_stamped_messages_and_data_parts_merge_into_the_input():
    parts = [{"kind": "text", "text": "hi"}, {"kind": "data", "data": {"x": 1}}]
    found = fmt.graph_input(parts, role="ROLE_USER", message_id="m1", stamp={"task_start_id": "s"})
    assert found == {
        "messages": [
            {"role": "human", "content": "hi", "id": "m1", "additional_kwargs": {"a2a": {"task_start_id": "s"}}}
        ],
        "x": 1,
    }


def test_a_file_part_makes_one_message_of_content_blocks():
    parts = [
        {"kind": "text", "text": "look"},
        {"kind": "file", "file": {"uri": "https://x/a.png", "mimeType": "image/png"}},
    ]
    message = fmt.graph_input(parts, role="ROLE_USER", message_id="m", stamp={})["messages"][0]
    assert message["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "url": "https://x/a.png", "mime_type": "image/png"},
    ]


@pytest.mark.parametrize(
    ("parts", "error"),
    [
        ([{"kind": "image"}], "Unsupported part type. A2A agents support 'text', 'data', and 'file' parts only."),
        (
            [{"text": "a", "data": {}}],
            "Each message part must contain exactly one of 'text', 'file', or 'data'. Got multiple: ['text', 'data'].",
        ),
        ([{"data": [1]}], "DataPart must contain a JSON object in the 'data' field"),
        ([{"file": {}}], "FilePart 'file' must contain either 'bytes' or 'uri'."),
    ],
)
def test_parts_the_agent_cannot_take_are_refused_with_the_official_reason(parts, error):
    with pytest.raises(ValueError, match="^" + re.escape(error) + "$"):
        fmt.graph_input(parts, role="ROLE_USER", message_id="m", stamp={})


def test_history_gives_each_message_the_task_whose_turn_it_is():
    messages = [
        {"type": "human", "content": "one", "id": "1", "additional_kwargs": {"a2a": {"task_start_id": "s1"}}},
        {"type": "ai", "content": "echo: one", "id": "2"},
        {"type": "tool", "content": "internal", "id": "3"},  # a tool result without a call id: dropped
        {"type": "human", "content": "two", "id": "4", "additional_kwargs": {"a2a": {"task_start_id": "s2"}}},
        {"type": "ai", "content": [{"type": "text", "text": "echo: "}, {"type": "text", "text": "two"}], "id": "5"},
    ]
    starts = {"s1": "c:r1", "s2": "c:r2"}
    shown = fmt.history(messages, "c:r2", "c", task_ids_by_start_id=starts)
    assert [(m["role"], m["parts"][0]["text"], m["taskId"]) for m in shown] == [
        ("ROLE_USER", "one", "c:r1"),
        ("ROLE_AGENT", "echo: one", "c:r1"),
        ("ROLE_USER", "two", "c:r2"),
        ("ROLE_AGENT", "echo: two", "c:r2"),
    ]
    assert [m["messageId"] for m in fmt.history(messages, "c:r2", "c", scope="task", task_ids_by_start_id=starts)] == [
        "4",
        "5",
    ]
    assert [m["messageId"] for m in fmt.history(messages, "c:r2", "c", length=1, task_ids_by_start_id=starts)] == ["5"]
    assert fmt.history(messages, "c:r2", "c", length=0, task_ids_by_start_id=starts) == []


@pytest.mark.parametrize(
    ("status", "interrupted", "state"),
    [
        ("pending", False, "TASK_STATE_SUBMITTED"),
        ("running", False, "TASK_STATE_WORKING"),
        ("success", False, "TASK_STATE_COMPLETED"),
        ("success", True, "TASK_STATE_INPUT_REQUIRED"),
        ("interrupted", False, "TASK_STATE_CANCELED"),
        ("error", False, "TASK_STATE_FAILED"),
        ("timeout", False, "TASK_STATE_FAILED"),
    ],
)
def test_run_statuses_map_to_the_official_task_states(status, interrupted, state):
    assert fmt.state_for_run(status, thread_interrupted=interrupted) == state


def test_to_spec_uses_the_0x_words_and_unwraps_the_task():
    body = {"result": {"task": {"status": {"state": "TASK_STATE_INPUT_REQUIRED"}, "history": [{"role": "ROLE_AGENT"}]}}}
    assert fmt.to_spec(body) == {"result": {"status": {"state": "input-required"}, "history": [{"role": "agent"}]}}


def test_the_answer_is_the_last_agent_message_of_the_turn_else_the_values():
    result = {
        "messages": [{"type": "human", "content": "q"}, {"type": "ai", "content": "a"}, {"type": "ai", "content": ""}]
    }
    assert fmt.response_parts(result) == [{"kind": "text", "text": "a"}]
    assert fmt.response_parts({"value": 1}) == [{"kind": "text", "text": "{'value': 1}"}]
