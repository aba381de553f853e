"""The Store API through langgraph_sdk against the real stack, shared with graphs run by the worker."""

import uuid

import httpx
import pytest
from langgraph_sdk.errors import UnprocessableEntityError

pytestmark = pytest.mark.integration

DOCS = {
    "cat": "The kitten purred and curled up asleep on the warm sofa.",
    "money": "Quarterly revenue grew twelve percent and profits beat analyst forecasts.",
    "food": "Boil the spaghetti, then toss it with eggs, pecorino and crispy guanciale.",
}


@pytest.fixture
def ns():
    return ["it", uuid.uuid4().hex[:12]]


def test_put_get_delete_round_trip(client, ns):
    client.store.put_item(ns, "prefs", {"theme": "dark"}, index=False)
    item = client.store.get_item(ns, "prefs")
    assert item["namespace"] == ns and item["key"] == "prefs" and item["value"] == {"theme": "dark"}
    assert item["created_at"].endswith("+00:00")
    client.store.delete_item(ns, "prefs")
    assert client.store.get_item(ns, "prefs") is None


def test_search_and_list_namespaces(client, ns):
    client.store.put_item([*ns, "a"], "one", {"n": 1}, index=False)
    client.store.put_item([*ns, "b"], "two", {"n": 12}, index=False)
    found = client.store.search_items(ns, filter={"n": {"$gte": 2}})
    assert [item["key"] for item in found["items"]] == ["two"]
    assert found["items"][0]["score"] is None
    assert client.store.list_namespaces(prefix=ns) == {"namespaces": [[*ns, "a"], [*ns, "b"]]}


def test_empty_label_is_422_for_the_sdk(client):
    with pytest.raises(UnprocessableEntityError) as caught:
        client.store.put_item(["ok", ""], "k", {})
    assert "non-empty" in caught.value.response.json()["detail"]


def test_get_without_key_is_400(stack, ns):
    response = httpx.get(f"{stack.url}/store/items", params={"namespace": ".".join(ns)})
    assert response.status_code == 400
    assert response.json() == {"error": "Key is required"}


def test_graph_reads_what_the_api_wrote_and_the_api_reads_what_the_graph_wrote(client, ns):
    client.store.put_item(ns, "from-api", {"said": "hello graph"}, index=False)
    result = client.runs.wait(None, "memory", input={"namespace": ns, "key": "from-api"})
    assert result["found"] == {"said": "hello graph"}
    client.runs.wait(None, "memory", input={"namespace": ns, "key": "from-graph", "write": {"said": "hello api"}})
    assert client.store.get_item(ns, "from-graph")["value"] == {"said": "hello api"}


def test_semantic_query_ranks_by_meaning_with_scores(client, ns):
    for key, text in DOCS.items():
        client.store.put_item(ns, key, {"text": text}, index=["text"])
    items = client.store.search_items(ns, query="a pet cat napping")["items"]
    assert items[0]["key"] == "cat"
    assert all(isinstance(item["score"], float) for item in items)
    money = client.store.search_items(ns, query="company earnings report", limit=1)["items"]
    assert [item["key"] for item in money] == ["money"]
