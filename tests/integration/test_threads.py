"""The Threads API as a langgraph_sdk user sees it, against the real stack (no runs: state is seeded directly)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError

pytestmark = pytest.mark.integration


def seeded_thread(client, graph_id: str = "echo", text: str = "hello") -> dict:
    """A thread whose state holds one human message, written with create(supersteps=...)."""
    supersteps = [{"updates": [{"values": {"messages": [{"role": "user", "content": text}]}, "as_node": graph_id}]}]
    return client.threads.create(graph_id=graph_id, supersteps=supersteps)


def test_sdk_create_get_update_delete_round_trip(client):
    thread_id = str(uuid.uuid4())

    created = client.threads.create(thread_id=thread_id, metadata={"owner": "ann"}, ttl=60)
    fetched = client.threads.get(thread_id, include=["ttl"])
    updated = client.threads.update(thread_id, metadata={"team": "x"})
    minimal = client.threads.update(thread_id, metadata={"more": 1}, return_minimal=True)
    client.threads.delete(thread_id)

    assert created["thread_id"] == thread_id
    assert created["status"] == "idle"
    assert fetched["ttl"]["ttl_minutes"] == 60
    assert fetched["ttl"]["strategy"] == "delete"
    assert updated["metadata"] == {"owner": "ann", "team": "x"}
    assert minimal is None
    with pytest.raises(NotFoundError):
        client.threads.get(thread_id)


def test_sdk_create_if_exists(client):
    thread_id = str(uuid.uuid4())
    client.threads.create(thread_id=thread_id, metadata={"v": 1})

    existing = client.threads.create(thread_id=thread_id, metadata={"v": 2}, if_exists="do_nothing")

    assert existing["metadata"] == {"v": 1}
    with pytest.raises(ConflictError):
        client.threads.create(thread_id=thread_id, if_exists="raise")


def test_sdk_search_count_and_extract(client):
    tag = uuid.uuid4().hex
    threads = [seeded_thread(client, text=f"msg {i}") for i in range(3)]
    for thread in threads:
        client.threads.update(thread["thread_id"], metadata={"tag": tag})

    page = client.threads.search(metadata={"tag": tag}, limit=2, extract={"first": "values.messages[0].content"})
    rest = client.threads.search(metadata={"tag": tag}, limit=2, offset=2)
    by_values = client.threads.search(metadata={"tag": tag}, values={"messages": [{"content": "msg 1"}]})
    count = client.threads.count(metadata={"tag": tag})

    assert len(page) == 2 and len(rest) == 1
    assert {t["extracted"]["first"] for t in page} <= {"msg 0", "msg 1", "msg 2"}
    assert [t["thread_id"] for t in by_values] == [threads[1]["thread_id"]]
    assert count == 3


def test_sdk_get_state_update_state_and_history(client):
    thread = seeded_thread(client)
    thread_id = thread["thread_id"]

    update = client.threads.update_state(thread_id, {"value": "edited"}, as_node="echo")
    state = client.threads.get_state(thread_id)
    history = client.threads.get_history(thread_id, limit=10)
    updates_only = client.threads.get_history(thread_id, metadata={"source": "update"})
    at_first = client.threads.get_state(thread_id, checkpoint_id=history[-1]["checkpoint_id"])
    by_checkpoint = client.threads.get_state(thread_id, checkpoint={"checkpoint_id": history[-1]["checkpoint_id"]})
    older = client.threads.get_history(thread_id, before={"checkpoint_id": update["checkpoint_id"]})

    assert update["checkpoint"]["thread_id"] == thread_id
    assert state["checkpoint_id"] == update["checkpoint_id"]
    assert state["values"]["value"] == "edited"
    assert state["values"]["messages"][0]["content"] == "hello"
    assert history[0]["checkpoint_id"] == update["checkpoint_id"]
    assert len(updates_only) == 2
    assert "value" not in at_first["values"]
    assert by_checkpoint["checkpoint_id"] == at_first["checkpoint_id"]
    assert [s["checkpoint_id"] for s in older] == [history[1]["checkpoint_id"]]
    assert client.threads.get(thread_id)["values"]["value"] == "edited"


def test_sdk_copy_brings_state_along(client):
    thread = seeded_thread(client, text="copy me")

    copy = client.threads.copy(thread["thread_id"])

    assert copy["thread_id"] != thread["thread_id"]
    assert copy["metadata"] == thread["metadata"]
    copied_state = client.threads.get_state(copy["thread_id"])
    assert copied_state["values"]["messages"][0]["content"] == "copy me"
    assert copied_state["checkpoint"]["thread_id"] == copy["thread_id"]


def test_sdk_prune_delete_and_keep_latest(client):
    doomed = [seeded_thread(client)["thread_id"] for _ in range(2)]
    kept = seeded_thread(client)["thread_id"]
    client.threads.update_state(kept, {"value": "latest"}, as_node="echo")

    deleted = client.threads.prune(doomed)
    trimmed = client.threads.prune([kept], strategy="keep_latest")

    assert deleted == {"pruned_count": 2}
    assert trimmed == {"pruned_count": 1}
    assert client.threads.count(metadata={"graph_id": "echo"}) >= 1
    with pytest.raises(NotFoundError):
        client.threads.get(doomed[0])
    history = client.threads.get_history(kept, limit=10)
    assert len(history) == 1 and history[0]["values"]["value"] == "latest"


def test_state_of_thread_without_graph_is_empty_and_update_is_400(client, stack):
    thread = client.threads.create()

    state = client.threads.get_state(thread["thread_id"])
    response = httpx.post(f"{stack.url}/threads/{thread['thread_id']}/state", json={"values": {"a": 1}})

    assert state["values"] == {} and state["checkpoint"] is None
    assert client.threads.get_history(thread["thread_id"]) == []
    assert response.status_code == 400
    assert "has no assigned graph ID" in response.json()["detail"]


def test_bad_inputs_answer_4xx_with_detail(stack):
    url = stack.url
    missing = str(uuid.uuid4())

    assert httpx.get(f"{url}/threads/nope").json() == {"detail": "Invalid thread ID: must be a UUID"}
    assert httpx.get(f"{url}/threads/{missing}").json() == {"detail": f"Thread with ID {missing} not found"}
    assert httpx.get(f"{url}/threads/{missing}/state").status_code == 404
    assert httpx.patch(f"{url}/threads/{missing}", json={"metadata": {}}).json() == {"detail": "Not Found"}
    assert httpx.post(f"{url}/threads/{missing}/copy").status_code == 404
    assert httpx.post(f"{url}/threads/search", json={"select": ["bogus"]}).status_code == 422
    assert httpx.post(f"{url}/threads/search", json={"values": {"x": 1}}).status_code == 200
    assert httpx.post(f"{url}/threads/{missing}/history", json={"before": {"x": 1}}).status_code in (404, 422)


def test_update_state_on_busy_thread_answers_409(client, stack):
    thread = seeded_thread(client)
    stack.sql("UPDATE threads_thread SET status = 'busy' WHERE thread_id = %s", (thread["thread_id"],))

    response = httpx.post(
        f"{stack.url}/threads/{thread['thread_id']}/state", json={"values": {"value": "x"}, "as_node": "echo"}
    )

    assert response.status_code == 409
    with pytest.raises(ConflictError):
        client.threads.update_state(thread["thread_id"], {"value": "x"}, as_node="echo")
