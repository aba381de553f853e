"""access.filters: handler filters matched in memory as the official server defines them, malformed ones refused.

The same filters against real rows (the SQL side) are in tests/component/test_access_filters_sql.py.
"""

from __future__ import annotations

import pytest

from access.errors import PermissionDenied
from access.filters import Filter

OWNED = {"owner": "alice", "tags": ["a", "b"], "org": {"id": 1}, "flag": True, "n": 1}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"owner": "alice"}, True),
        ({"owner": "bob"}, False),
        ({"owner": {"$eq": "alice"}}, True),
        ({"missing": {"$eq": None}}, False),
        ({"org": {"$eq": {"id": 1}}}, True),
        ({"org": {"$eq": {"id": 2}}}, False),
        ({"tags": {"$contains": "a"}}, True),
        ({"tags": {"$contains": ["b", "a"]}}, True),
        ({"tags": {"$contains": ["a", "z"]}}, False),
        ({"owner": {"$contains": "ali"}}, False),  # not a substring search: the value must be a list
        ({"missing": {"$contains": "a"}}, False),
        ({"owner": "alice", "tags": {"$contains": "z"}}, False),  # several keys: AND
        ({"flag": 1}, False),  # JSON true is not 1
        ({"n": 1.0}, True),
        ({"$or": [{"owner": "bob"}, {"tags": {"$contains": "b"}}]}, True),
        ({"$or": [{"owner": "bob"}, {"owner": "carol"}]}, False),
        ({"$and": [{"owner": "alice"}, {"n": 1}]}, True),
        ({"$and": [{"owner": "alice"}, {"n": 2}]}, False),
        ({"$or": [{"$and": [{"owner": "alice"}, {"n": 1}]}, {"owner": "x"}]}, True),
    ],
)
def test_filter_matches_metadata_as_the_official_server_does(raw, expected):
    assert Filter(raw).matches(OWNED) is expected


def test_nothing_matches_missing_metadata():
    assert Filter({"owner": "alice"}).matches(None) is False


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"owner": {"$ne": "alice"}}, "one key, \\$eq or \\$contains"),
        ({"owner": {"$eq": "a", "$contains": "b"}}, "one key"),
        ({"$or": [{"owner": "a"}]}, "at least 2"),
        ({"$and": "owner"}, "at least 2"),
        ({"$or": [{}, {"owner": "a"}]}, "empty filter"),
        ({"$not": {"owner": "a"}}, "invalid key"),
        ({"$or": [{"$or": [{"$or": [{"a": 1}, {"b": 2}]}, {"c": 3}]}, {"d": 4}]}, "nesting"),
        ({"$or": ["owner", {"a": 1}]}, "object was expected"),
    ],
)
def test_malformed_filter_refuses_the_request_instead_of_being_ignored(raw, problem):
    with pytest.raises(PermissionDenied, match=problem) as refused:
        Filter(raw)

    assert refused.value.status_code == 403
