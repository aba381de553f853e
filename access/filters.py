"""The filter an authorization handler returns, as the official server reads it, applied to a `metadata` field.

    {"owner": "alice"}                      metadata.owner equals "alice" (any JSON value compares as a whole)
    {"owner": {"$eq": "alice"}}             the same, written out
    {"tags": {"$contains": "x"}}            metadata.tags is a list holding "x"
    {"tags": {"$contains": ["x", "y"]}}     metadata.tags is a list holding both (any order)
    {"$or": [f1, f2, ...]}, {"$and": [...]} at least two filters each; nested at most two levels deep

Several keys are a logical AND. `$contains` never matches a string (no substring search) or a missing key, as
officially. A filter is checked when it is built: a malformed one refuses the request (fail closed) instead of
being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import JSONField, Q, Value
from django.db.models.fields.json import KeyTransform, KeyTransformExact

from access.errors import PermissionDenied

MAX_NESTING = 2  # official: _MAX_AUTH_FILTER_DEPTH
_SCALARS = (str, int, float, bool, type(None))


def _invalid(problem: str) -> PermissionDenied:
    return PermissionDenied(
        f"Your auth handler returned a filter with {problem}. Check the filter returned by your auth handler."
    )


class Filter:
    """A validated handler filter; `q()` for querysets, `matches()` for one object already in memory."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        _validate(raw, depth=0)
        self.raw = dict(raw)

    def q(self, field: str = "metadata") -> Q:
        return _q(self.raw, field)

    def matches(self, metadata: Mapping[str, Any] | None) -> bool:
        return _matches(self.raw, metadata or {})

    def __repr__(self) -> str:
        return f"Filter({self.raw!r})"


def _validate(raw: Any, *, depth: int) -> None:
    if not isinstance(raw, Mapping):
        raise _invalid(f"a {type(raw).__name__} where an object was expected")
    for key, value in raw.items():
        if key in ("$or", "$and"):
            if depth >= MAX_NESTING:
                raise _invalid(f"too much nesting; the maximum nesting depth is {MAX_NESTING}")
            if not isinstance(value, list) or len(value) < 2:
                raise _invalid(f"an invalid {key} operator; it must be a list of at least 2 filter objects")
            for branch in value:
                if not branch:
                    # Officially an empty branch matches everything in memory but is dropped from SQL: refuse it.
                    raise _invalid(f"an empty filter inside {key}")
                _validate(branch, depth=depth + 1)
        elif not isinstance(key, str) or key.startswith("$"):
            raise _invalid(f"an invalid key {key!r}")
        elif isinstance(value, Mapping) and (len(value) != 1 or next(iter(value)) not in ("$eq", "$contains")):
            raise _invalid(f"an invalid value for {key!r}; it must be a dict with one key, $eq or $contains")


def _condition(value: Any) -> tuple[str, Any]:
    if isinstance(value, Mapping):
        return next(iter(value.items()))
    return "$eq", value


def _q(raw: Mapping[str, Any], field: str) -> Q:
    q = Q()
    for key, value in raw.items():
        if key == "$or":
            branches = Q()
            for branch in value:
                branches |= _q(branch, field)
            q &= branches
        elif key == "$and":
            for branch in value:
                q &= _q(branch, field)
        else:
            q &= _key_q(key, *_condition(value), field)
    return q


def _key_q(key: str, operator: str, wanted: Any, field: str) -> Q:
    # Containment (`metadata @> {...}`) puts the key inside the value, so any key text is safe (no "__" lookups),
    # and the metadata GIN index (jsonb_path_ops) serves it. For a scalar it is equality; lists and objects are
    # compared whole with ->.
    if operator == "$contains":
        return Q(**{f"{field}__contains": {key: wanted if isinstance(wanted, list) else [wanted]}})
    if isinstance(wanted, _SCALARS):
        return Q(**{f"{field}__contains": {key: wanted}})
    return Q(KeyTransformExact(KeyTransform(key, field), Value(wanted, output_field=JSONField())))


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, as in Postgres.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _matches(raw: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    for key, value in raw.items():
        if key == "$or":
            if not any(_matches(branch, metadata) for branch in value):
                return False
        elif key == "$and":
            if not all(_matches(branch, metadata) for branch in value):
                return False
        elif not _key_matches(metadata, key, *_condition(value)):
            return False
    return True


def _key_matches(metadata: Mapping[str, Any], key: str, operator: str, wanted: Any) -> bool:
    if key not in metadata:
        return False
    actual = metadata[key]
    if operator == "$eq":
        return _same(actual, wanted)
    if not isinstance(actual, list):
        return False
    needed = wanted if isinstance(wanted, list) else [wanted]
    return all(any(_same(item, need) for item in actual) for need in needed)
