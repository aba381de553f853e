"""Thread CRUD, search, count and prune through the HTTP API (Django test client, real Postgres)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from threads.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    return Client()


def post(api: Client, path: str, body: dict | None = None, **headers):
    return api.post(path, body if body is not None else {}, content_type="application/json", headers=headers)


def make_threads(api: Client, count: int, **metadata) -> list[dict]:
    return [post(api, "/threads", {"metadata": {**metadata, "n": i}}).json() for i in range(count)]


def test_create_returns_idle_thread_with_official_fields(api):
    response = post(api, "/threads", {"metadata": {"owner": "ann"}})

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "status", "config"}
    assert body["status"] == "idle"
    assert body["metadata"] == {"owner": "ann"}
    assert body["values"] is None
    assert body["interrupts"] == {}
    assert body["created_at"].endswith("+00:00")
    assert uuid.UUID(body["thread_id"]).version == 7


def test_create_with_existing_id_raise_returns_409_and_do_nothing_returns_existing(api):
    thread_id = str(uuid.uuid4())
    first = post(api, "/threads", {"thread_id": thread_id, "metadata": {"v": 1}})
    again = post(api, "/threads", {"thread_id": thread_id, "if_exists": "raise"})
    kept = post(api, "/threads", {"thread_id": thread_id, "metadata": {"v": 2}, "if_exists": "do_nothing"})

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json() == {"detail": f"Thread with ID {thread_id} already exists"}
    assert kept.status_code == 200
    assert kept.json()["metadata"] == {"v": 1}


def test_create_rejects_non_uuid_thread_id_with_422(api):
    response = post(api, "/threads", {"thread_id": "not-a-uuid"})

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid thread ID: must be a UUID"}


def test_create_rejects_bad_if_exists_with_422(api):
    assert post(api, "/threads", {"if_exists": "overwrite"}).status_code == 422


def test_create_strips_reserved_metadata_keys(api):
    body = post(api, "/threads", {"metadata": {"run_id": "x", "keep": 1}}).json()

    assert body["metadata"] == {"keep": 1}


def test_create_with_ttl_is_visible_with_include_ttl(api):
    thread = post(api, "/threads", {"ttl": {"ttl": 30, "strategy": "delete"}}).json()

    plain = api.get(f"/threads/{thread['thread_id']}").json()
    with_ttl = api.get(f"/threads/{thread['thread_id']}", {"include": "ttl"}).json()

    assert "ttl" not in plain
    assert with_ttl["ttl"]["strategy"] == "delete"
    assert with_ttl["ttl"]["ttl_minutes"] == 30
    assert with_ttl["ttl"]["expires_at"].endswith("+00:00")


def test_create_rejects_bad_ttl_with_422(api):
    assert post(api, "/threads", {"ttl": {"ttl": 5, "strategy": "forever"}}).status_code == 422
    assert post(api, "/threads", {"ttl": "soon"}).status_code == 422


def test_get_unknown_thread_returns_404_with_official_detail(api):
    thread_id = str(uuid.uuid4())

    response = api.get(f"/threads/{thread_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Thread with ID {thread_id} not found"}


def test_get_non_uuid_thread_returns_422(api):
    response = api.get("/threads/abc")

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid thread ID: must be a UUID"}


def test_patch_merges_metadata_and_bumps_updated_at(api):
    thread = post(api, "/threads", {"metadata": {"a": 1, "b": 1}}).json()

    response = api.patch(
        f"/threads/{thread['thread_id']}", {"metadata": {"b": 2, "c": 3}}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["metadata"] == {"a": 1, "b": 2, "c": 3}
    assert response.json()["updated_at"] > thread["updated_at"]


def test_patch_with_prefer_return_minimal_returns_204(api):
    thread = post(api, "/threads").json()

    response = api.patch(
        f"/threads/{thread['thread_id']}",
        {"metadata": {"x": 1}},
        content_type="application/json",
        headers={"Prefer": "return=minimal"},
    )

    assert response.status_code == 204
    assert response.content == b""
    assert Thread.objects.get(thread_id=thread["thread_id"]).metadata == {"x": 1}


def test_patch_sets_ttl(api):
    thread = post(api, "/threads").json()

    api.patch(f"/threads/{thread['thread_id']}", {"ttl": {"ttl": 10}}, content_type="application/json")

    row = Thread.objects.get(thread_id=thread["thread_id"])
    assert (row.ttl_minutes, row.ttl_strategy) == (10, "delete")
    assert row.expires_at is not None


def test_patch_unknown_thread_returns_generic_404(api):
    response = api.patch(f"/threads/{uuid.uuid4()}", {"metadata": {}}, content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_delete_returns_204_then_404(api):
    thread = post(api, "/threads").json()

    first = api.delete(f"/threads/{thread['thread_id']}")
    second = api.delete(f"/threads/{thread['thread_id']}")

    assert first.status_code == 204
    assert second.status_code == 404
    assert not Thread.objects.filter(thread_id=thread["thread_id"]).exists()


def test_search_filters_by_metadata_containment(api):
    tag = uuid.uuid4().hex
    make_threads(api, 3, tag=tag, nested={"k": "v", "other": 1})
    make_threads(api, 2, tag=f"{tag}-other")

    found = post(api, "/threads/search", {"metadata": {"tag": tag, "nested": {"k": "v"}}}).json()

    assert len(found) == 3
    assert all(t["metadata"]["tag"] == tag for t in found)


def test_search_filters_by_values_and_tolerates_null_values(api):
    tag = uuid.uuid4().hex
    threads = make_threads(api, 3, tag=tag)
    Thread.objects.filter(thread_id=threads[0]["thread_id"]).update(values={"topic": "cats", "n": [1]})
    Thread.objects.filter(thread_id=threads[1]["thread_id"]).update(values={"topic": "dogs"})

    response = post(api, "/threads/search", {"metadata": {"tag": tag}, "values": {"topic": "cats"}})

    assert response.status_code == 200
    assert [t["thread_id"] for t in response.json()] == [threads[0]["thread_id"]]


def test_search_filters_by_ids_and_status(api):
    threads = make_threads(api, 3)
    Thread.objects.filter(thread_id=threads[1]["thread_id"]).update(status="interrupted")
    ids = [t["thread_id"] for t in threads]

    found = post(api, "/threads/search", {"ids": ids, "status": "interrupted"}).json()

    assert [t["thread_id"] for t in found] == [threads[1]["thread_id"]]


def test_search_paginates_with_official_headers(api):
    tag = uuid.uuid4().hex
    make_threads(api, 5, tag=tag)

    first = post(api, "/threads/search", {"metadata": {"tag": tag}, "limit": 2})
    last = post(api, "/threads/search", {"metadata": {"tag": tag}, "limit": 2, "offset": 4})
    exact = post(api, "/threads/search", {"metadata": {"tag": tag}, "limit": 5})

    assert len(first.json()) == 2
    assert first.headers["X-Pagination-Next"] == "2"
    assert first.headers["X-Pagination-Total"] == "3"
    assert len(last.json()) == 1
    assert "X-Pagination-Next" not in last.headers
    assert last.headers["X-Pagination-Total"] == "5"
    assert exact.headers["X-Pagination-Total"] == "5"
    assert "X-Pagination-Next" not in exact.headers


def test_search_sorts_newest_updated_first_by_default_and_by_requested_field(api):
    tag = uuid.uuid4().hex
    threads = make_threads(api, 3, tag=tag)
    api.patch(f"/threads/{threads[0]['thread_id']}", {"metadata": {"touched": True}}, content_type="application/json")

    default = post(api, "/threads/search", {"metadata": {"tag": tag}}).json()
    by_created = post(
        api, "/threads/search", {"metadata": {"tag": tag}, "sort_by": "created_at", "sort_order": "asc"}
    ).json()

    assert default[0]["thread_id"] == threads[0]["thread_id"]
    assert [t["thread_id"] for t in by_created] == [t["thread_id"] for t in threads]


def test_search_select_returns_only_selected_fields(api):
    tag = uuid.uuid4().hex
    make_threads(api, 1, tag=tag)

    found = post(api, "/threads/search", {"metadata": {"tag": tag}, "select": ["thread_id", "status"]}).json()

    assert set(found[0]) == {"thread_id", "status"}


def test_search_rejects_unknown_select_sort_and_status_with_422(api):
    assert post(api, "/threads/search", {"select": ["thread_id", "secret"]}).status_code == 422
    assert post(api, "/threads/search", {"sort_by": "name"}).status_code == 422
    assert post(api, "/threads/search", {"sort_order": "sideways"}).status_code == 422
    assert post(api, "/threads/search", {"status": "sleeping"}).status_code == 422
    assert post(api, "/threads/search", {"limit": 0}).status_code == 422
    assert post(api, "/threads/search", {"ids": ["nope"]}).status_code == 422


def test_search_extract_adds_extracted_values(api):
    tag = uuid.uuid4().hex
    thread = make_threads(api, 1, tag=tag)[0]
    Thread.objects.filter(thread_id=thread["thread_id"]).update(values={"a": {"b": ["first", "second"]}})

    extract = {"first": "values.a.b[0]", "last": "values.a.b[-1]", "gone": "values.x.y"}

    found = post(api, "/threads/search", {"metadata": {"tag": tag}, "extract": extract}).json()

    assert found[0]["extracted"] == {"first": "first", "last": "second", "gone": None}


def test_search_rejects_bad_extract_with_422(api):
    too_many = {f"k{i}": "values.a" for i in range(11)}

    assert post(api, "/threads/search", {"extract": too_many}).status_code == 422
    assert post(api, "/threads/search", {"extract": {"status": "values.a"}}).status_code == 422
    assert post(api, "/threads/search", {"extract": {"a": "secrets.a"}}).status_code == 422


def test_count_returns_bare_integer(api):
    tag = uuid.uuid4().hex
    make_threads(api, 3, tag=tag)

    response = post(api, "/threads/count", {"metadata": {"tag": tag}})

    assert response.status_code == 200
    assert response.json() == 3


def test_prune_delete_removes_threads_and_counts_only_existing(api):
    threads = make_threads(api, 2)
    ids = [t["thread_id"] for t in threads] + [str(uuid.uuid4())]

    response = post(api, "/threads/prune", {"thread_ids": ids})

    assert response.status_code == 200
    assert response.json() == {"pruned_count": 2}
    assert not Thread.objects.filter(thread_id__in=ids).exists()


def test_prune_rejects_bad_strategy_and_ids_with_422(api):
    bad_strategy = post(api, "/threads/prune", {"thread_ids": [], "strategy": "shred"})

    assert bad_strategy.status_code == 422
    assert bad_strategy.json() == {"detail": "Invalid strategy: shred. Expected 'delete' or 'keep_latest'."}
    assert post(api, "/threads/prune", {"thread_ids": ["x"]}).json() == {"detail": "Invalid thread ID: must be a UUID"}
    assert post(api, "/threads/prune", {}).status_code == 422


def test_invalid_json_body_returns_422(api):
    response = api.post("/threads", "{not json", content_type="application/json")

    assert response.status_code == 422


def test_nul_characters_are_refused_with_422_not_500(api):
    thread = post(api, "/threads").json()

    create = post(api, "/threads", {"metadata": {"a": "x\u0000y"}})
    search = post(api, "/threads/search", {"values": {"a": "\u0000"}})
    patch = api.patch(f"/threads/{thread['thread_id']}", {"metadata": {"\u0000": 1}}, content_type="application/json")

    assert (create.status_code, search.status_code, patch.status_code) == (422, 422, 422)


def test_search_far_past_the_end_is_empty(api):
    response = post(api, "/threads/search", {"offset": 10**12})

    assert response.status_code == 200
    assert response.json() == []
