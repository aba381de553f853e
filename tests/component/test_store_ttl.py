"""Store TTLs: expired items disappear from reads at once and the sweep deletes them; reads refresh TTLs."""

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from agentplatform.persistence import database_conninfo
from store import selectors, services
from store.backend import PlatformPostgresStore
from store.config import parse_store_ttl

pytestmark = pytest.mark.django_db


@pytest.fixture
def ns():
    return ("ttl", uuid.uuid4().hex[:12])


def _sql(query, params):
    """Outside the test transaction: the store writes through its own autocommit pool."""
    with psycopg.connect(database_conninfo(), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchone() if cursor.description else None


def _expire(ns, key):
    """Move the item's expiry into the past, as if its time had passed."""
    _sql(
        "UPDATE store SET expires_at = now() - interval '1 second' WHERE prefix = %s AND key = %s", [".".join(ns), key]
    )


def _expires_at(ns, key):
    return _sql("SELECT expires_at, ttl_minutes FROM store WHERE prefix = %s AND key = %s", [".".join(ns), key])


def test_expired_item_is_gone_from_get_and_search_before_any_sweep(ns):
    services.store_item_put(namespace=ns, key="k", value={"v": 1}, index=False, ttl=60)
    assert selectors.store_item_get(namespace=ns, key="k", refresh_ttl=False) is not None
    _expire(ns, "k")
    assert selectors.store_item_get(namespace=ns, key="k", refresh_ttl=False) is None
    assert selectors.store_item_search(namespace_prefix=ns) == []
    assert selectors.store_namespace_list(prefix=ns) == []


def test_sweep_deletes_expired_items_and_keeps_live_ones(ns):
    services.store_item_put(namespace=ns, key="old", value={}, index=False, ttl=60)
    services.store_item_put(namespace=ns, key="live", value={}, index=False, ttl=60)
    services.store_item_put(namespace=ns, key="forever", value={}, index=False, ttl=None)
    _expire(ns, "old")
    assert services.store_items_sweep_expired() >= 1
    assert _expires_at(ns, "old") is None
    assert _expires_at(ns, "live") is not None
    assert _expires_at(ns, "forever") == (None, None)


def test_read_with_refresh_ttl_pushes_expiry_forward(ns):
    services.store_item_put(namespace=ns, key="k", value={}, index=False, ttl=60)
    _sql("UPDATE store SET expires_at = now() + interval '1 minute' WHERE prefix = %s", [".".join(ns)])
    before, _ = _expires_at(ns, "k")
    selectors.store_item_get(namespace=ns, key="k", refresh_ttl=False)
    assert _expires_at(ns, "k")[0] == before
    selectors.store_item_get(namespace=ns, key="k", refresh_ttl=True)
    after, minutes = _expires_at(ns, "k")
    assert minutes == 60
    assert (after - before).total_seconds() > 50 * 60


def test_default_ttl_applies_when_put_has_no_ttl_and_none_means_never(ns):
    ttl = parse_store_ttl({"default_ttl": 5, "refresh_on_read": False})
    with psycopg.connect(database_conninfo(), autocommit=True, row_factory=dict_row) as conn:
        store = PlatformPostgresStore(conn, ttl=ttl)
        store.put(ns, "defaulted", {})
        store.put(ns, "explicit", {}, ttl=None)
    assert _expires_at(ns, "defaulted")[1] == 5
    assert _expires_at(ns, "explicit") == (None, None)


@pytest.mark.parametrize(
    "raw",
    [{"default_ttl": -1}, {"default_ttl": "ten"}, {"refresh_on_read": "yes"}, {"sweep_interval_minutes": 0}, []],
)
def test_bad_store_ttl_config_is_refused_with_a_message(raw):
    from agentplatform.langgraph_config import ConfigError

    with pytest.raises(ConfigError, match=r"store\.ttl"):
        parse_store_ttl(raw)
