"""Thread state, state updates, history, supersteps, copy and prune against the real Postgres checkpointer."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from agentplatform import serde, stream_log
from agentplatform.graphs import get_registry
from agentplatform.persistence import sync_checkpointer
from agentplatform.redis_clients import sync_redis
from agentplatform.serde import to_jsonable
from threads.models import Thread
from threads.services import thread_refresh_from_state, thread_sweep_expired
from threads.state import interrupts_by_task, status_from_snapshot

pytestmark = pytest.mark.django_db

NO_GRAPH_DETAIL = (
    "Thread '{}' has no assigned graph ID. This usually occurs when no runs have been made on this particular "
    "thread. This operation requires a graph ID. Please ensure a run has been made for the thread or manually "
    "update the thread metadata (by setting the 'graph_id' field) before running this operation."
)
EMPTY_STATE = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}


@pytest.fixture
def api() -> Client:
    return Client()


def post(api: Client, path: str, body: dict | None = None):
    return api.post(path, body if body is not None else {}, content_type="application/json")


def new_thread(api: Client, graph_id: str | None = "echo", **extra) -> str:
    metadata = {"graph_id": graph_id} if graph_id else {}
    return post(api, "/threads", {"metadata": metadata, **extra}).json()["thread_id"]


def update(api: Client, thread_id: str, values, as_node: str | None = "echo", **extra):
    return post(api, f"/threads/{thread_id}/state", {"values": values, "as_node": as_node, **extra})


def say(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def test_state_of_thread_without_graph_is_the_empty_shape(api):
    thread_id = new_thread(api, graph_id=None)

    assert api.get(f"/threads/{thread_id}/state").json() == EMPTY_STATE
    assert api.get(f"/threads/{thread_id}/history").json() == []
    assert post(api, f"/threads/{thread_id}/history", {"limit": 10}).json() == []


def test_state_of_graph_thread_without_checkpoints_is_empty(api):
    thread_id = new_thread(api)

    state = api.get(f"/threads/{thread_id}/state").json()

    assert state["values"] == {}
    assert state["next"] == []
    assert state["checkpoint"] is None


def test_update_state_without_graph_id_returns_400_with_official_detail(api):
    thread_id = new_thread(api, graph_id=None)

    response = update(api, thread_id, {"value": "x"})

    assert response.status_code == 400
    assert response.json() == {"detail": NO_GRAPH_DETAIL.format(thread_id)}


def test_update_state_returns_checkpoint_configurable_and_id(api):
    thread_id = new_thread(api)

    response = update(api, thread_id, say("hi"))

    assert response.status_code == 200
    body = response.json()
    assert body["checkpoint"]["thread_id"] == thread_id
    assert body["checkpoint"]["checkpoint_ns"] == ""
    assert body["checkpoint_id"] == body["checkpoint"]["checkpoint_id"]
    assert body["configurable"] == body["checkpoint"]


def test_state_after_update_has_official_thread_state_shape(api):
    thread_id = new_thread(api)
    checkpoint_id = update(api, thread_id, say("hi")).json()["checkpoint_id"]

    state = api.get(f"/threads/{thread_id}/state").json()

    assert set(state) == set(EMPTY_STATE)
    assert state["values"]["messages"][0]["content"] == "hi"
    assert state["values"]["messages"][0]["type"] == "human"
    assert state["next"] == []
    assert state["metadata"]["source"] == "update"
    assert state["checkpoint"] == {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}
    assert state["checkpoint_id"] == checkpoint_id
    assert state["created_at"].endswith("+00:00")


def test_update_state_refreshes_thread_row(api):
    thread_id = new_thread(api)
    before = Thread.objects.get(thread_id=thread_id)

    update(api, thread_id, {"value": "stored"})

    thread = api.get(f"/threads/{thread_id}").json()
    assert thread["values"]["value"] == "stored"
    assert thread["status"] == "idle"
    assert thread["state_updated_at"] > before.state_updated_at.isoformat()


def test_update_state_returns_409_when_thread_busy(api):
    thread_id = new_thread(api)
    Thread.objects.filter(thread_id=thread_id).update(status="busy")

    response = update(api, thread_id, {"value": "x"})

    assert response.status_code == 409


def test_update_state_with_unknown_node_returns_400(api):
    thread_id = new_thread(api)

    response = update(api, thread_id, {"value": "x"}, as_node="nope")

    assert response.status_code == 400
    assert "nope" in response.json()["detail"]


def test_update_state_on_unknown_thread_returns_404_and_bad_id_422(api):
    missing = str(uuid.uuid4())

    assert update(api, missing, {"value": "x"}).json() == {"detail": f"Thread with ID {missing} not found"}
    assert update(api, "not-a-uuid", {"value": "x"}).status_code == 422


def test_update_state_from_old_checkpoint_forks(api):
    thread_id = new_thread(api)
    first = update(api, thread_id, {"value": "one"}).json()["checkpoint_id"]
    update(api, thread_id, {"value": "two"})

    forked = update(api, thread_id, {"value": "fork"}, checkpoint_id=first).json()["checkpoint_id"]

    state = api.get(f"/threads/{thread_id}/state").json()
    assert state["checkpoint_id"] == forked
    assert state["parent_checkpoint_id"] == first
    assert state["parent_checkpoint"]["checkpoint_id"] == first
    assert state["values"]["value"] == "fork"


def test_state_at_checkpoint_by_path_and_by_body(api):
    thread_id = new_thread(api)
    first = update(api, thread_id, {"value": "one"}).json()["checkpoint_id"]
    update(api, thread_id, {"value": "two"})

    by_path = api.get(f"/threads/{thread_id}/state/{first}").json()
    by_body = post(api, f"/threads/{thread_id}/state/checkpoint", {"checkpoint": {"checkpoint_id": first}}).json()

    assert by_path["values"]["value"] == "one"
    assert by_path["checkpoint_id"] == first
    assert by_body == by_path


def test_state_checkpoint_body_is_required(api):
    thread_id = new_thread(api)

    assert post(api, f"/threads/{thread_id}/state/checkpoint", {}).status_code == 422


def test_history_is_newest_first_with_official_limits(api):
    thread_id = new_thread(api)
    ids = [update(api, thread_id, {"value": v}).json()["checkpoint_id"] for v in ("a", "b", "c")]

    get_default = api.get(f"/threads/{thread_id}/history").json()
    get_two = api.get(f"/threads/{thread_id}/history", {"limit": 2}).json()
    post_ten = post(api, f"/threads/{thread_id}/history", {"limit": 10}).json()

    assert [s["checkpoint_id"] for s in get_default] == [ids[2]]
    assert [s["checkpoint_id"] for s in get_two] == [ids[2], ids[1]]
    assert [s["checkpoint_id"] for s in post_ten][:3] == ids[::-1]


def test_history_limit_over_the_cap_is_422_naming_the_setting(api, settings):
    settings.THREAD_HISTORY_MAX_LIMIT = 5
    thread_id = new_thread(api)
    detail = {"detail": "limit must be at most 5 (the THREAD_HISTORY_MAX_LIMIT setting)"}
    got, posted = (
        api.get(f"/threads/{thread_id}/history", {"limit": 6}),
        post(api, f"/threads/{thread_id}/history", {"limit": 6}),
    )
    assert (got.status_code, got.json()) == (422, detail)
    assert (posted.status_code, posted.json()) == (422, detail)
    assert api.get(f"/threads/{thread_id}/history", {"limit": 5}).status_code == 200


def test_history_filters_by_checkpoint_metadata(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})
    update(api, thread_id, {"value": "b"})

    updates = post(api, f"/threads/{thread_id}/history", {"limit": 10, "metadata": {"source": "update"}}).json()
    none = post(api, f"/threads/{thread_id}/history", {"limit": 10, "metadata": {"source": "loop"}}).json()

    assert len(updates) == 2
    assert all(s["metadata"]["source"] == "update" for s in updates)
    assert none == []


@pytest.mark.parametrize(
    "before",
    [
        lambda cid: {"configurable": {"checkpoint_id": cid}},
        lambda cid: {"checkpoint_id": cid},
        lambda cid: cid,
    ],
    ids=["runnable-config", "checkpoint", "checkpoint-id"],
)
def test_history_before_accepts_every_form(api, before):
    thread_id = new_thread(api)
    ids = [update(api, thread_id, {"value": v}).json()["checkpoint_id"] for v in ("a", "b", "c")]

    older = post(api, f"/threads/{thread_id}/history", {"limit": 10, "before": before(ids[2])}).json()

    assert [s["checkpoint_id"] for s in older][:2] == [ids[1], ids[0]]


def test_history_rejects_bad_before_and_limit_with_422(api):
    thread_id = new_thread(api)

    assert post(api, f"/threads/{thread_id}/history", {"before": {"x": 1}}).status_code == 422
    assert post(api, f"/threads/{thread_id}/history", {"limit": 0}).status_code == 422
    assert api.get(f"/threads/{thread_id}/history", {"limit": "many"}).json() == {"detail": "Invalid limit many"}


def test_history_get_with_limit_zero_is_empty(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})

    assert api.get(f"/threads/{thread_id}/history", {"limit": "0"}).json() == []


def test_update_state_records_graph_id_in_checkpoint_metadata(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})

    state = api.get(f"/threads/{thread_id}/state").json()

    assert state["metadata"]["graph_id"] == "echo"


def test_history_of_unknown_thread_returns_404(api):
    assert api.get(f"/threads/{uuid.uuid4()}/history").status_code == 404


def test_create_with_supersteps_seeds_state(api):
    supersteps = [
        {"updates": [{"values": {"value": "first"}, "as_node": "echo"}]},
        {"updates": [{"values": {"value": "second"}, "as_node": "echo"}]},
    ]

    thread = post(api, "/threads", {"metadata": {"graph_id": "echo"}, "supersteps": supersteps}).json()

    assert thread["values"]["value"] == "second"
    history = post(api, f"/threads/{thread['thread_id']}/history", {"limit": 10}).json()
    assert [s["values"].get("value") for s in history][:2] == ["second", "first"]


def test_create_with_supersteps_leaving_next_nodes_marks_thread_interrupted(api):
    supersteps = [{"updates": [{"values": {"request": "deploy"}, "as_node": "__start__"}]}]

    thread = post(api, "/threads", {"metadata": {"graph_id": "interrupt"}, "supersteps": supersteps}).json()

    assert thread["status"] == "interrupted"
    assert api.get(f"/threads/{thread['thread_id']}/state").json()["next"] == ["ask"]


def test_create_with_supersteps_without_graph_id_answers_201_with_detail(api):
    thread_id = str(uuid.uuid4())
    supersteps = [{"updates": [{"values": {"value": "x"}, "as_node": "echo"}]}]

    response = post(api, "/threads", {"thread_id": thread_id, "supersteps": supersteps})

    assert response.status_code == 201
    assert response.json()["detail"].startswith(f"Thread {thread_id} was created, but there were problems")
    assert Thread.objects.filter(thread_id=thread_id).exists()


def test_copy_creates_new_thread_with_same_metadata_and_checkpoints(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})
    update(api, thread_id, {"value": "b"})

    response = post(api, f"/threads/{thread_id}/copy")

    assert response.status_code == 200
    copy = response.json()
    assert copy["thread_id"] != thread_id
    assert copy["metadata"] == {"graph_id": "echo"}
    assert copy["status"] == "idle"
    state = api.get(f"/threads/{copy['thread_id']}/state").json()
    assert state["values"]["value"] == "b"
    assert state["checkpoint"]["thread_id"] == copy["thread_id"]
    history = post(api, f"/threads/{copy['thread_id']}/history", {"limit": 10}).json()
    original = post(api, f"/threads/{thread_id}/history", {"limit": 10}).json()
    assert [s["checkpoint_id"] for s in history] == [s["checkpoint_id"] for s in original]


def test_copy_is_independent_of_the_source(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})
    copy_id = post(api, f"/threads/{thread_id}/copy").json()["thread_id"]

    update(api, copy_id, {"value": "changed"})

    assert api.get(f"/threads/{thread_id}/state").json()["values"]["value"] == "a"


def test_copy_of_unknown_thread_returns_404(api):
    assert post(api, f"/threads/{uuid.uuid4()}/copy").status_code == 404


def test_prune_keep_latest_keeps_thread_and_only_latest_checkpoint(api):
    thread_id = new_thread(api)
    for value in ("a", "b", "c"):
        update(api, thread_id, {"value": value})

    response = post(api, "/threads/prune", {"thread_ids": [thread_id], "strategy": "keep_latest"})

    assert response.json() == {"pruned_count": 1}
    history = post(api, f"/threads/{thread_id}/history", {"limit": 10}).json()
    assert len(history) == 1
    assert history[0]["values"]["value"] == "c"


def test_delete_removes_checkpoints(api):
    thread_id = new_thread(api)
    update(api, thread_id, {"value": "a"})

    api.delete(f"/threads/{thread_id}")

    assert sync_checkpointer().get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}) is None


def _run_until_interrupt(thread_id: str) -> None:
    config = {"configurable": {"thread_id": thread_id}}
    with get_registry().graph("interrupt", config, checkpointer=sync_checkpointer(), store=None) as graph:
        graph.invoke({"request": "deploy"}, config)


def test_state_of_interrupted_graph_reports_tasks_and_interrupts(api):
    thread_id = new_thread(api, graph_id="interrupt")
    _run_until_interrupt(thread_id)

    state = api.get(f"/threads/{thread_id}/state").json()

    assert state["next"] == ["ask"]
    task = state["tasks"][0]
    assert set(task) == {"id", "name", "path", "error", "interrupts", "checkpoint", "state", "result"}
    assert task["name"] == "ask"
    assert task["interrupts"][0]["value"] == {"question": "approve deploy?"}
    assert task["interrupts"][0]["id"]
    assert state["interrupts"] == task["interrupts"]


def test_refresh_from_an_interrupted_snapshot_keys_interrupts_by_task_id(api):
    thread_id = new_thread(api, graph_id="interrupt")
    _run_until_interrupt(thread_id)
    config = {"configurable": {"thread_id": thread_id}}
    with get_registry().graph("interrupt", config, checkpointer=sync_checkpointer(), store=None) as graph:
        snapshot = graph.get_state(config)

    # As the run engine does at a run's end (runs.engine.executor reads the state, runs.engine.leases writes it).
    thread_refresh_from_state(
        thread_id=thread_id,
        values=to_jsonable(snapshot.values),
        interrupts=interrupts_by_task(snapshot),
        status=status_from_snapshot(snapshot),
    )

    thread = api.get(f"/threads/{thread_id}").json()
    task = snapshot.tasks[0]
    assert thread["status"] == "interrupted"
    assert thread["interrupts"] == {task.id: [{"id": task.interrupts[0].id, "value": {"question": "approve deploy?"}}]}
    assert thread["values"]["request"] == "deploy"


def test_subgraph_state_reports_pending_subgraph_task(api):
    thread_id = new_thread(api, graph_id="subgraph")
    update(api, thread_id, {"items": ["seed"]}, as_node="parent_step")

    flat = api.get(f"/threads/{thread_id}/state").json()
    nested = api.get(f"/threads/{thread_id}/state", {"subgraphs": "true"}).json()

    assert flat["next"] == ["child"]
    assert flat["tasks"][0]["name"] == "child"
    assert nested["tasks"][0]["name"] == "child"


def test_update_state_publishes_state_update_thread_event(api):
    thread_id = new_thread(api)

    checkpoint_id = update(api, thread_id, {"value": "streamed"}).json()["checkpoint_id"]

    entries = sync_redis().xrange(stream_log.thread_stream_key(thread_id))
    assert [e[1][b"event"] for e in entries] == [b"state_update"]
    data = serde.orjson.loads(entries[0][1][b"data"])
    assert data["thread_id"] == thread_id
    assert data["state"]["checkpoint_id"] == checkpoint_id
    assert data["state"]["values"]["value"] == "streamed"


def test_supersteps_with_malformed_command_answer_201_with_detail_not_500(api):
    supersteps = [{"updates": [{"command": {"goto": [{"input": {}}]}, "as_node": "echo"}]}]

    response = post(api, "/threads", {"metadata": {"graph_id": "echo"}, "supersteps": supersteps})

    assert response.status_code == 201
    assert "problems updating the state" in response.json()["detail"]


def test_sweep_expired_deletes_or_trims_by_strategy(api):
    doomed = new_thread(api, ttl={"ttl": 1, "strategy": "delete"})
    trimmed = new_thread(api, ttl={"ttl": 1, "strategy": "keep_latest"})
    fresh = new_thread(api, ttl={"ttl": 60})
    for thread_id in (doomed, trimmed):
        update(api, thread_id, {"value": "a"})
        update(api, thread_id, {"value": "b"})
    past = timezone.now() - timezone.timedelta(minutes=5)
    Thread.objects.filter(thread_id__in=[doomed, trimmed]).update(expires_at=past)

    swept = thread_sweep_expired()

    assert swept == 2
    assert not Thread.objects.filter(thread_id=doomed).exists()
    assert Thread.objects.get(thread_id=trimmed).expires_at > timezone.now()
    assert len(post(api, f"/threads/{trimmed}/history", {"limit": 10}).json()) == 1
    assert Thread.objects.filter(thread_id=fresh).exists()


def test_update_state_values_the_graph_refuses_answer_400(api):
    thread_id = new_thread(api)

    response = update(api, thread_id, [1, 2])

    assert response.status_code == 400
    assert "Expected dict" in response.json()["detail"]


def test_update_state_in_unknown_subgraph_namespace_answers_400(api):
    thread_id = new_thread(api)

    response = update(api, thread_id, {"value": "x"}, checkpoint={"checkpoint_ns": "nope:1"})

    assert response.status_code == 400
