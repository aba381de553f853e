"""agentplatform.jsonbody: strict request-body JSON (what Python's json takes but Postgres/orjson/UTF-8 refuse)."""

from __future__ import annotations

import pytest

from agentplatform.errors import InvalidInput
from agentplatform.jsonbody import MAX_DEPTH, loads


def test_loads_returns_ordinary_json_unchanged():
    body = b'{"a": [1, -2, 1.5, "x\\u00e9\\ud83d\\ude00", null, true], "n": 18446744073709551615}'

    assert loads(body) == {"a": [1, -2, 1.5, "x\u00e9\U0001f600", None, True], "n": 2**64 - 1}


@pytest.mark.parametrize(
    "body",
    [
        b'{"x": NaN}',
        b"[Infinity]",
        b'{"a": -Infinity}',
        b'{"a": "\\u0000"}',
        b'{"\\u0000": 1}',
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"a": 18446744073709551616}',
        b'{"a": -9223372036854775809}',
        b"[" * 10_000 + b"]" * 10_000,
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a": "\xff"}',
        b"{",
    ],
)
def test_loads_refuses_what_would_fail_later_with_invalid_input(body):
    with pytest.raises(InvalidInput):
        loads(body)


def test_loads_accepts_nesting_up_to_the_limit():
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH

    assert loads(body) is not None


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    assert loads(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}
