import datetime
import uuid

import pytest
from django.test import Client

from assistants import services
from assistants.models import system_assistant_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    """Django's test api (the conftest `client` is the langgraph_sdk one, against a real stack)."""
    return Client()


ASSISTANT_FIELDS = {
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "metadata",
    "name",
    "description",
    "version",
    "created_at",
    "updated_at",
}


def post(api, path, body=None):
    return api.post(path, body if body is not None else {}, content_type="application/json")


def test_create_returns_assistant_with_official_fields_and_iso_timestamps(api):
    response = post(api, "/assistants", {"graph_id": "echo", "metadata": {"team": "a"}})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ASSISTANT_FIELDS
    assert body["name"] == "Untitled"
    assert body["description"] is None
    assert body["version"] == 1
    assert body["created_at"].endswith("+00:00")
    assert datetime.datetime.fromisoformat(body["created_at"]) == datetime.datetime.fromisoformat(body["updated_at"])
    uuid.UUID(body["assistant_id"])


def test_create_without_graph_id_is_422(api):
    response = post(api, "/assistants", {"name": "x"})
    assert response.status_code == 422
    assert "graph_id" in response.json()["detail"]


def test_create_with_non_object_config_is_422(api):
    assert post(api, "/assistants", {"graph_id": "echo", "config": [1]}).status_code == 422


@pytest.mark.parametrize("config", [{"tags": "x"}, {"tags": [1]}, {"recursion_limit": "10"}, {"configurable": [1]}])
def test_create_with_mistyped_config_is_422(api, config):
    response = post(api, "/assistants", {"graph_id": "echo", "config": config})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("config: ")


def test_create_with_bad_if_exists_is_422(api):
    assert post(api, "/assistants", {"graph_id": "echo", "if_exists": "update"}).status_code == 422


def test_create_with_unknown_graph_is_404(api):
    response = post(api, "/assistants", {"graph_id": "nope"})
    assert response.status_code == 404


def test_create_twice_is_409(api):
    assistant_id = str(uuid.uuid4())
    assert post(api, "/assistants", {"graph_id": "echo", "assistant_id": assistant_id}).status_code == 200
    response = post(api, "/assistants", {"graph_id": "echo", "assistant_id": assistant_id})
    assert response.status_code == 409
    assert response.json() == {"detail": f"Assistant {assistant_id} already exists"}


def test_invalid_json_body_is_422(api):
    response = api.post("/assistants", "{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid JSON in request body"}


def test_get_with_non_uuid_is_422_and_unknown_is_404(api):
    assert api.get("/assistants/echo").json() == {"detail": "Invalid assistant ID: must be a UUID"}
    assert api.get("/assistants/echo").status_code == 422
    missing = api.get(f"/assistants/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


def test_patch_merges_metadata_and_bumps_version(api):
    created = services.assistant_create(graph_id="echo", metadata={"a": 1})
    response = api.patch(
        f"/assistants/{created.assistant_id}", {"metadata": {"b": 2}, "name": "n"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["metadata"] == {"a": 1, "b": 2}
    assert (response.json()["version"], response.json()["name"]) == (2, "n")


def test_delete_is_204_then_404(api):
    created = services.assistant_create(graph_id="echo")
    response = api.delete(f"/assistants/{created.assistant_id}?delete_threads=true")
    assert response.status_code == 204
    assert response.content == b""
    assert api.delete(f"/assistants/{created.assistant_id}").status_code == 404


def test_search_filters_by_metadata_containment_graph_and_name(api):
    services.assistant_create(graph_id="echo", name="Alpha Bot", metadata={"team": {"x": 1, "y": 2}, "k": 1})
    services.assistant_create(graph_id="chat", name="beta", metadata={"team": {"x": 1}})
    names = lambda body: sorted(a["name"] for a in post(api, "/assistants/search", body).json())  # noqa: E731
    assert names({"metadata": {"team": {"x": 1}}}) == ["Alpha Bot", "beta"]
    assert names({"metadata": {"team": {"y": 2}}}) == ["Alpha Bot"]
    assert names({"graph_id": "chat"}) == ["beta"]
    assert names({"name": "ALPHA"}) == ["Alpha Bot"]


def test_search_with_unknown_graph_is_404(api):
    assert post(api, "/assistants/search", {"graph_id": "nope"}).status_code == 404


def test_search_pagination_headers_follow_official_formula(api):
    for i in range(4):
        services.assistant_create(graph_id="echo", name=f"a{i}", metadata={"page": "t"})
    first = post(api, "/assistants/search", {"metadata": {"page": "t"}, "limit": 2})
    assert [a["name"] for a in first.json()] == ["a3", "a2"]
    assert (first.headers["X-Pagination-Total"], first.headers["X-Pagination-Next"]) == ("3", "2")
    last = post(api, "/assistants/search", {"metadata": {"page": "t"}, "limit": 2, "offset": 2})
    assert [a["name"] for a in last.json()] == ["a1", "a0"]
    assert last.headers["X-Pagination-Total"] == "4"
    assert "X-Pagination-Next" not in last.headers


def test_search_sorts_by_allowed_field_ignoring_case(api):
    for name in ("b", "C", "a"):
        services.assistant_create(graph_id="echo", name=name, metadata={"sort": 1})
    body = post(api, "/assistants/search", {"metadata": {"sort": 1}, "sort_by": "name", "sort_order": "asc"}).json()
    assert [a["name"] for a in body] == ["a", "b", "C"]
    assert post(api, "/assistants/search", {"sort_by": "version"}).status_code == 422


def test_search_select_returns_only_selected_fields_and_rejects_unknown(api):
    services.assistant_create(graph_id="echo")
    body = post(api, "/assistants/search", {"select": ["assistant_id", "name"]}).json()
    assert body and all(set(a) == {"assistant_id", "name"} for a in body)
    assert post(api, "/assistants/search", {"select": ["bogus"]}).status_code == 422


def test_search_limit_outside_bounds_is_422(api):
    assert post(api, "/assistants/search", {"limit": 0}).status_code == 422
    assert post(api, "/assistants/search", {"offset": -1}).status_code == 422


def test_count_returns_bare_integer(api):
    services.assistant_create(graph_id="echo", metadata={"count": "me"})
    services.assistant_create(graph_id="echo", metadata={"count": "me"})
    response = post(api, "/assistants/count", {"metadata": {"count": "me"}})
    assert response.status_code == 200
    assert response.content == b"2"


def test_versions_newest_first_with_metadata_filter_and_404_when_empty(api):
    created = services.assistant_create(graph_id="echo", metadata={"stage": "one"})
    services.assistant_update(assistant_id=created.assistant_id, metadata={"stage": "two"})
    body = post(api, f"/assistants/{created.assistant_id}/versions").json()
    assert [v["version"] for v in body] == [2, 1]
    assert set(body[0]) == {
        "assistant_id",
        "version",
        "graph_id",
        "name",
        "description",
        "config",
        "context",
        "metadata",
        "created_at",
    }
    only_one = post(api, f"/assistants/{created.assistant_id}/versions", {"metadata": {"stage": "one"}}).json()
    assert [v["version"] for v in only_one] == [1]
    assert post(api, f"/assistants/{uuid.uuid4()}/versions").status_code == 404


def test_latest_pins_version(api):
    created = services.assistant_create(graph_id="echo", name="first")
    services.assistant_update(assistant_id=created.assistant_id, name="second")
    response = post(api, f"/assistants/{created.assistant_id}/latest", {"version": 1})
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["name"]) == (1, "first")
    assert post(api, f"/assistants/{created.assistant_id}/latest", {"version": 9}).status_code == 404


def test_graph_accepts_graph_name_and_returns_nodes_and_edges(api):
    response = api.get("/assistants/echo/graph")
    assert response.status_code == 200
    assert response.json() == {
        "nodes": [
            {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
            {"id": "echo", "type": "runnable", "data": {"name": "echo"}},
            {"id": "__end__"},
        ],
        "edges": [{"source": "__start__", "target": "echo"}, {"source": "echo", "target": "__end__"}],
    }


def test_graph_xray_expands_subgraph_nodes(api):
    assistant_id = system_assistant_id("subgraph")
    services.assistants_ensure_system(graph_ids=["subgraph"])
    plain = {n["id"] for n in api.get(f"/assistants/{assistant_id}/graph").json()["nodes"]}
    xray = {n["id"] for n in api.get(f"/assistants/{assistant_id}/graph?xray=true").json()["nodes"]}
    assert "child" in plain
    assert "child:child_step" in xray and "child" not in xray
    assert (
        api.get(f"/assistants/{assistant_id}/graph?xray=1").json()["nodes"]
        == api.get(f"/assistants/{assistant_id}/graph?xray=true").json()["nodes"]
    )


def test_graph_bad_xray_is_422_and_unknown_name_is_422(api):
    assert api.get("/assistants/echo/graph?xray=0").json() == {"detail": "Invalid xray value"}
    assert api.get("/assistants/echo/graph?xray=abc").status_code == 422
    assert api.get("/assistants/nope/graph").status_code == 422


def test_schemas_of_factory_assistant_use_graph_id_as_state_title(api):
    created = services.assistant_create(graph_id="factory", context={"greeting": "yo"})
    body = api.get(f"/assistants/{created.assistant_id}/schemas").json()
    assert set(body) == {"graph_id", "input_schema", "output_schema", "state_schema", "config_schema", "context_schema"}
    assert body["graph_id"] == "factory"
    assert body["state_schema"]["title"] == "factory_state"
    assert set(body["state_schema"]["properties"]) == {"messages", "count", "value"}
    assert body["config_schema"] == {}


def test_schemas_reject_graph_name(api):
    assert api.get("/assistants/echo/schemas").status_code == 422


def test_subgraphs_list_child_schemas_and_filter_by_namespace(api):
    services.assistants_ensure_system(graph_ids=["subgraph", "echo"])
    url = f"/assistants/{system_assistant_id('subgraph')}/subgraphs"
    body = api.get(url).json()
    assert list(body) == ["child"]
    assert set(body["child"]) == {"input_schema", "output_schema", "state_schema", "config_schema", "context_schema"}
    assert body["child"]["state_schema"]["title"] == "LangGraphState"
    assert list(api.get(f"{url}/child?recurse=true").json()) == ["child"]
    assert api.get(f"{url}/other").json() == {}
    assert api.get(f"/assistants/{system_assistant_id('echo')}/subgraphs").json() == {}
