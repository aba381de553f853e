"""Strict JSON for request bodies: what Python's `json` accepts but Postgres, orjson or UTF-8 later refuse.

Python's decoder takes NaN/Infinity, lone UTF-16 surrogates ("\\ud800"), "\\u0000" and nesting up to the
interpreter's recursion limit; each of those became a 500 further down (jsonb, text columns, orjson's 255-level
limit, UTF-8 encoding). Refusing them where the body enters gives one clear 422 for every endpoint.
"""

from __future__ import annotations

import json
import re

from agentplatform.errors import InvalidInput

MAX_DEPTH = 200  # orjson refuses to serialize deeper than 254 levels
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_INT_RANGE = range(-(2**63), 2**64)  # what orjson (the SDK's and the official server's JSON) holds as an integer


def _refuse_constant(name: str) -> float:
    raise InvalidInput(f"Invalid JSON in request body: {name} is not a JSON number")


def _int(text: str) -> int:
    value = int(text)
    if value not in _INT_RANGE:
        raise InvalidInput("Invalid JSON in request body: integer out of the 64-bit range")
    return value


def loads(raw: bytes) -> object:
    """The parsed body, or InvalidInput with a message saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
        # Integers are range-checked (a Python call each) only when a long digit run makes it worthwhile.
        parse_int = _int if _LONG_DIGITS.search(text) else None
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=parse_int)
    except UnicodeDecodeError:
        raise InvalidInput("Request body is not valid UTF-8") from None
    except RecursionError:
        raise InvalidInput(f"Request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise InvalidInput("Invalid JSON in request body") from None
    # Only walk the tree when the text could hold something to refuse: most bodies are small and shallow.
    if _SUSPECT_ESCAPE.search(text) or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_tree(data)
    return data


def _check_tree(data: object) -> None:
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"Request body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                _check_string(key)
                pending.append((value, depth + 1))
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)
        elif isinstance(node, str):
            _check_string(node)


def _check_string(value: str) -> None:
    if "\x00" in value:
        raise InvalidInput("Request body contains \\u0000, which is not supported")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("Request body contains a lone UTF-16 surrogate, which is not valid Unicode") from None
