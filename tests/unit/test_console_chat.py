"""A thread's messages as chat turns, whichever way they were written (LangChain dicts, role dicts, blocks)."""

from __future__ import annotations

from console.chat import chat_turns


def test_each_kind_of_message_becomes_a_turn():
    turns = chat_turns(
        {
            "messages": [
                {"type": "human", "content": "6 * 7"},
                {"type": "ai", "content": "", "tool_calls": [{"name": "calc", "args": {"x": 6}, "id": "c1"}]},
                {"type": "tool", "content": "42", "tool_call_id": "c1", "name": "calc"},
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "The answer"}, {"type": "text", "text": "is 42"}],
                },
            ]
        }
    )
    assert [turn.role for turn in turns] == ["human", "ai", "tool", "ai"]
    assert turns[1].tool_calls[0]["name"] == "calc" and '"x": 6' in turns[1].tool_calls[0]["args"]
    assert (turns[2].tool_call_id, turns[2].text) == ("c1", "42")
    assert turns[3].text == "The answer\nis 42"


def test_state_without_messages_has_no_turns():
    assert chat_turns({"value": 1}) == [] and chat_turns(None) == [] and chat_turns({"messages": "x"}) == []


def test_unknown_content_is_shown_as_json():
    (turn,) = chat_turns({"messages": [{"type": "weird", "content": {"a": 1}}]})
    assert (turn.role, turn.text) == ("other", '{"a": 1}')
