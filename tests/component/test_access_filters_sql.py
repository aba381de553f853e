"""access.filters against real rows: Filter.q() on a metadata JSON field selects exactly what Filter.matches()
accepts, for every operator (threads here; assistants and crons have the same field)."""

from __future__ import annotations

import pytest

from access.filters import Filter
from threads.models import Thread

pytestmark = pytest.mark.django_db

ROWS = [
    {"owner": "alice", "tags": ["a", "b"], "org": {"id": 1}, "n": 1, "flag": True},
    {"owner": "bob", "tags": ["b"], "org": {"id": 2, "x": 1}, "n": 2, "flag": False},
    {"owner": ["alice"], "tags": "a", "contains": "yes", "we__ird": "k"},
    {"owner": None},
    {},
]
FILTERS = [
    {"owner": "alice"},
    {"owner": {"$eq": "alice"}},
    {"owner": None},
    {"owner": ["alice"]},
    {"org": {"$eq": {"id": 1}}},
    {"org": {"$eq": {"id": 2}}},  # a whole object: the row with an extra key does not match
    {"tags": {"$contains": "a"}},  # the row whose tags is the string "a" does not match
    {"tags": {"$contains": ["b", "a"]}},
    {"owner": {"$contains": "alice"}},
    {"n": 1},
    {"n": 1.0},
    {"flag": True},
    {"flag": 1},
    {"contains": "yes"},  # keys that look like Django lookups are plain keys
    {"we__ird": "k"},
    {"owner": "alice", "n": 2},
    {"$or": [{"owner": "bob"}, {"tags": {"$contains": "a"}}]},
    {"$and": [{"tags": {"$contains": "b"}}, {"$or": [{"n": 1}, {"n": 2}]}]},
]


@pytest.fixture
def threads():
    return [Thread.objects.create(metadata=metadata) for metadata in ROWS]


@pytest.mark.parametrize("raw", FILTERS, ids=[str(f) for f in FILTERS])
def test_sql_and_memory_agree(threads, raw):
    filter_ = Filter(raw)
    selected = set(Thread.objects.filter(filter_.q()).values_list("thread_id", flat=True))

    assert selected == {t.thread_id for t in threads if filter_.matches(t.metadata)}


def test_owner_filter_selects_only_the_owners_rows(threads):
    selected = Thread.objects.filter(Filter({"owner": "alice"}).q())

    assert [t.thread_id for t in selected] == [threads[0].thread_id]


def test_the_field_can_be_named(threads):
    assert "metadata" in str(Thread.objects.filter(Filter({"owner": "bob"}).q(field="metadata")).query)
