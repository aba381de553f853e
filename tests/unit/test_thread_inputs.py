"""Parsing of thread request inputs: history `before`, search `extract` paths, TTL bodies."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from agentplatform.errors import InvalidInput
from threads.selectors import _before_config
from threads.serializers import TTLField, extract_path_value

THREAD = {"values": {"a": {"b": [10, 20]}, "messages": [{"content": "hi"}]}, "metadata": {"k": "v"}, "status": "idle"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("values.a.b[0]", 10),
        ("values.a.b[-1]", 20),
        ("values.messages[0].content", "hi"),
        ("metadata.k", "v"),
        ("values.a.b[5]", None),
        ("values.a.missing.deeper", None),
        ("values.a[0]", None),
        ("status", None),
    ],
)
def test_extract_path_value_resolves_or_gives_none(path, expected):
    assert extract_path_value(THREAD, path) == expected


@pytest.mark.parametrize(
    "before",
    ["c1", {"checkpoint_id": "c1"}, {"configurable": {"checkpoint_id": "c1"}}],
)
def test_before_accepts_id_checkpoint_and_runnable_config(before):
    assert _before_config(before) == {"configurable": {"checkpoint_id": "c1"}}


def test_before_keeps_namespace_and_drops_foreign_thread():
    config = _before_config({"thread_id": "other", "checkpoint_id": "c1", "checkpoint_ns": "sub"})

    assert config == {"configurable": {"checkpoint_id": "c1", "checkpoint_ns": "sub"}}


@pytest.mark.parametrize("before", [{"x": 1}, 5, ["c1"], {"configurable": {}}])
def test_before_rejects_anything_else_with_422(before):
    with pytest.raises(InvalidInput):
        _before_config(before)


def test_before_absent_means_no_bound():
    assert _before_config(None) is None
    assert _before_config({}) is None


def test_ttl_field_accepts_minutes_or_object():
    field = TTLField()

    assert field.to_internal_value(5) == {"ttl": 5, "strategy": "delete"}
    assert field.to_internal_value({"ttl": 2.5, "strategy": "keep_latest"}) == {"ttl": 2.5, "strategy": "keep_latest"}


@pytest.mark.parametrize("ttl", [True, "5", {"strategy": "delete"}, {"ttl": -1}, {"ttl": 1, "strategy": "nope"}])
def test_ttl_field_rejects_bad_values(ttl):
    with pytest.raises(ValidationError):
        TTLField().to_internal_value(ttl)
