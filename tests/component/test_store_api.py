"""The Store API in process (Django test client) on the real PostgresStore; expected shapes from the official API."""

import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client()


@pytest.fixture
def ns():
    """A namespace of its own per test: the store writes outside the test transaction."""
    return ["t", uuid.uuid4().hex[:12]]


def put(api, body):
    return api.put("/store/items", body, content_type="application/json")


def post(api, path, body):
    return api.post(path, body, content_type="application/json")


def get(api, namespace, key, **extra):
    return api.get("/store/items", {"namespace": ".".join(namespace), "key": key, **extra})


def test_put_returns_204_and_get_returns_item_with_namespace_list_and_utc_timestamps(api, ns):
    assert put(api, {"namespace": ns, "key": "k", "value": {"a": 1}, "index": False}).status_code == 204
    response = get(api, ns, "k")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"namespace", "key", "value", "created_at", "updated_at"}
    assert body["namespace"] == ns and body["key"] == "k" and body["value"] == {"a": 1}
    assert body["created_at"].endswith("+00:00") and body["updated_at"].endswith("+00:00")


def test_get_missing_item_answers_200_with_null(api, ns):
    response = get(api, ns, "absent")
    assert response.status_code == 200
    assert response.content == b"null"


def test_get_without_key_answers_400_key_is_required(api, ns):
    response = api.get("/store/items", {"namespace": ".".join(ns)})
    assert response.status_code == 400
    assert response.json() == {"error": "Key is required"}


def test_label_with_period_is_refused_with_422(api):
    response = put(api, {"namespace": ["a.b"], "key": "k", "value": {}})
    assert response.status_code == 422
    assert "without periods" in response.json()["detail"]


def test_empty_label_is_422_and_empty_namespace_is_400(api):
    assert put(api, {"namespace": ["a", ""], "key": "k", "value": {}}).status_code == 422
    response = put(api, {"namespace": [], "key": "k", "value": {}})
    assert response.status_code == 400
    assert response.json() == {"detail": "Namespace cannot be empty."}


def test_index_true_is_refused_with_422(api, ns):
    assert put(api, {"namespace": ns, "key": "k", "value": {}, "index": True}).status_code == 422


def test_value_that_is_not_an_object_is_refused_with_422(api, ns):
    response = put(api, {"namespace": ns, "key": "k", "value": [1, 2]})
    assert response.status_code == 422
    assert "value" in response.json()["detail"]


def test_missing_key_on_put_is_422_not_500(api, ns):
    assert put(api, {"namespace": ns, "value": {}}).status_code == 422


def test_overwrite_replaces_value(api, ns):
    put(api, {"namespace": ns, "key": "k", "value": {"v": 1}, "index": False})
    put(api, {"namespace": ns, "key": "k", "value": {"v": 2}, "index": False})
    assert get(api, ns, "k").json()["value"] == {"v": 2}


def test_delete_removes_item_and_answers_204(api, ns):
    put(api, {"namespace": ns, "key": "k", "value": {"v": 1}, "index": False})
    response = api.delete("/store/items", {"namespace": ns, "key": "k"}, content_type="application/json")
    assert response.status_code == 204
    assert get(api, ns, "k").json() is None


def test_search_lists_items_under_prefix_with_null_score(api, ns):
    put(api, {"namespace": [*ns, "x"], "key": "a", "value": {"n": 1}, "index": False})
    put(api, {"namespace": [*ns, "y"], "key": "b", "value": {"n": 2}, "index": False})
    put(api, {"namespace": ["other", ns[1]], "key": "c", "value": {"n": 3}, "index": False})
    response = post(api, "/store/items/search", {"namespace_prefix": ns})
    assert response.status_code == 200
    items = response.json()["items"]
    assert sorted(item["key"] for item in items) == ["a", "b"]
    assert all(item["score"] is None for item in items)


def test_search_filter_compares_numbers_as_numbers(api, ns):
    for key, n in (("two", 2), ("nine", 9), ("ten", 10)):
        put(api, {"namespace": ns, "key": key, "value": {"n": n, "kind": "x"}, "index": False})
    found = post(api, "/store/items/search", {"namespace_prefix": ns, "filter": {"n": {"$gt": 5}}}).json()["items"]
    assert sorted(item["key"] for item in found) == ["nine", "ten"]
    found = post(api, "/store/items/search", {"namespace_prefix": ns, "filter": {"n": {"$lte": 9}}}).json()["items"]
    assert sorted(item["key"] for item in found) == ["nine", "two"]
    found = post(api, "/store/items/search", {"namespace_prefix": ns, "filter": {"n": {"$ne": 2}}}).json()["items"]
    assert sorted(item["key"] for item in found) == ["nine", "ten"]
    found = post(api, "/store/items/search", {"namespace_prefix": ns, "filter": {"n": 10}}).json()["items"]
    assert [item["key"] for item in found] == ["ten"]


def test_search_with_unknown_filter_operator_is_400(api, ns):
    response = post(api, "/store/items/search", {"namespace_prefix": ns, "filter": {"n": {"$regex": "x"}}})
    assert response.status_code == 400
    assert response.json() == {"detail": "Unsupported operator: $regex"}


def test_search_limit_and_offset_page_newest_first(api, ns):
    for key in ("a", "b", "c"):
        put(api, {"namespace": ns, "key": key, "value": {}, "index": False})
    first = post(api, "/store/items/search", {"namespace_prefix": ns, "limit": 2}).json()["items"]
    rest = post(api, "/store/items/search", {"namespace_prefix": ns, "limit": 2, "offset": 2}).json()["items"]
    assert [item["key"] for item in first] == ["c", "b"]
    assert [item["key"] for item in rest] == ["a"]


def test_namespaces_lists_prefix_matches_with_max_depth(api, ns):
    for sub in (["docs", "a"], ["docs", "b"], ["notes"]):
        put(api, {"namespace": [*ns, *sub], "key": "k", "value": {}, "index": False})
    response = post(api, "/store/namespaces", {"prefix": ns})
    assert response.status_code == 200
    assert response.json() == {"namespaces": [[*ns, "docs", "a"], [*ns, "docs", "b"], [*ns, "notes"]]}
    shallow = post(api, "/store/namespaces", {"prefix": ns, "max_depth": 3}).json()["namespaces"]
    assert shallow == [[*ns, "docs"], [*ns, "notes"]]
    suffixed = post(api, "/store/namespaces", {"prefix": ns, "suffix": ["b"]}).json()["namespaces"]
    assert suffixed == [[*ns, "docs", "b"]]
