import uuid

import httpx
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

pytestmark = pytest.mark.integration

# The official server derives system assistant ids from graph names in this namespace.
SYSTEM_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def test_system_assistant_exists_for_every_graph_at_start(client):
    system = client.assistants.search(metadata={"created_by": "system"}, limit=100)
    by_graph = {a["graph_id"]: a for a in system}
    assert {"echo", "interrupt", "sleepy", "fail", "subgraph", "chat", "factory"} <= set(by_graph)
    echo = by_graph["echo"]
    assert echo["assistant_id"] == str(uuid.uuid5(SYSTEM_NAMESPACE, "echo"))
    assert (echo["name"], echo["version"]) == ("echo", 1)
    assert client.assistants.get(echo["assistant_id"])["graph_id"] == "echo"


def test_create_get_update_versions_latest_delete_round_trip(client):
    created = client.assistants.create(
        graph_id="factory", config={"configurable": {"greeting": "hi"}}, metadata={"owner": "it"}, name="greeter"
    )
    assert created["context"] == {"greeting": "hi"}
    assert client.assistants.get(created["assistant_id"]) == created

    updated = client.assistants.update(created["assistant_id"], context={"greeting": "yo"}, metadata={"tier": 2})
    assert updated["version"] == 2
    assert updated["metadata"] == {"owner": "it", "tier": 2}
    assert updated["config"]["configurable"] == {"greeting": "yo"}

    versions = client.assistants.get_versions(created["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    pinned = client.assistants.set_latest(created["assistant_id"], 1)
    assert pinned["version"] == 1
    assert pinned["config"]["configurable"] == {"greeting": "hi"}

    client.assistants.delete(created["assistant_id"], delete_threads=True)
    with pytest.raises(NotFoundError):
        client.assistants.get(created["assistant_id"])


def test_create_conflict_and_do_nothing(client):
    assistant_id = str(uuid.uuid4())
    client.assistants.create(graph_id="echo", assistant_id=assistant_id, name="orig")
    with pytest.raises(ConflictError):
        client.assistants.create(graph_id="echo", assistant_id=assistant_id)
    existing = client.assistants.create(graph_id="chat", assistant_id=assistant_id, if_exists="do_nothing")
    assert (existing["name"], existing["graph_id"]) == ("orig", "echo")


def test_search_object_format_reports_next_offset_and_count_is_integer(client):
    tag = uuid.uuid4().hex
    for i in range(3):
        client.assistants.create(graph_id="echo", name=f"page-{i}", metadata={"tag": tag})
    page = client.assistants.search(metadata={"tag": tag}, limit=2, response_format="object")
    assert [a["name"] for a in page["assistants"]] == ["page-2", "page-1"]
    assert page["next"] == "2"
    rest = client.assistants.search(metadata={"tag": tag}, limit=2, offset=2, response_format="object")
    assert ([a["name"] for a in rest["assistants"]], rest["next"]) == (["page-0"], None)
    assert client.assistants.count(metadata={"tag": tag}) == 3
    assert client.assistants.count(metadata={"tag": tag}, name="PAGE-1") == 1


def test_graph_schemas_and_subgraphs(client):
    drawn = client.assistants.get_graph("subgraph", xray=True)
    assert {"child:child_step", "parent_step"} <= {n["id"] for n in drawn["nodes"]}
    system_id = str(uuid.uuid5(SYSTEM_NAMESPACE, "subgraph"))
    schemas = client.assistants.get_schemas(system_id)
    assert schemas["graph_id"] == "subgraph"
    assert schemas["state_schema"]["title"] == "subgraph_state"
    subgraphs = client.assistants.get_subgraphs(system_id, recurse=True)
    assert list(subgraphs) == ["child"]
    assert list(client.assistants.get_subgraphs(system_id, namespace="child")) == ["child"]


def test_bad_input_answers_4xx_with_detail(stack, client):
    base = stack.url
    not_uuid = httpx.get(f"{base}/assistants/not-a-uuid")
    assert (not_uuid.status_code, not_uuid.json()) == (422, {"detail": "Invalid assistant ID: must be a UUID"})
    unknown = httpx.get(f"{base}/assistants/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not Found"})
    bad_select = httpx.post(f"{base}/assistants/search", json={"select": ["nope"]})
    assert bad_select.status_code == 422
    bad_json = httpx.post(f"{base}/assistants", content=b"{oops", headers={"content-type": "application/json"})
    assert (bad_json.status_code, bad_json.json()) == (422, {"detail": "Invalid JSON in request body"})
    with pytest.raises(UnprocessableEntityError):
        client.assistants.get_schemas("echo")
