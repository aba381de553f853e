"""With auth on, no route lets one user see or touch another's data (tests/graphs/auth.py: every resource is
private to its creator).

User B (user2) tries every operation of /openapi.json on user A's (user1) assistant, thread, run, crons and
store item, and gets exactly what the same operation on unknown ids answers: the route list comes from the
served document, so a new route without a case here fails the test. Search and count never show A's resources,
the websocket refuses A's streams as it refuses unknown ones, an anonymous caller gets 401 everywhere except the
open routes, and nothing B does changes anything of A's.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError
from websockets.asyncio.client import connect

from tests.access_support import user_client

pytestmark = pytest.mark.integration

A, B = "user1-token", "user2-token"
OPEN = {("GET", "/"), ("GET", "/ok"), ("GET", "/ready"), ("GET", "/info"), ("GET", "/metrics")}
NEVER = "0 0 1 1 *"  # a schedule that does not fire during the tests

# Every operation that names an existing resource, with a request valid enough to get past validation ("{...}"
# is replaced by the id of A's resource, or by an unknown one).
ON_A_RESOURCE: dict[tuple[str, str], dict] = {
    ("GET", "/assistants/{assistant_id}"): {},
    ("PATCH", "/assistants/{assistant_id}"): {"json": {"metadata": {"by": "b"}, "name": "b's now"}},
    ("DELETE", "/assistants/{assistant_id}"): {},
    ("GET", "/assistants/{assistant_id}/graph"): {},
    ("POST", "/assistants/{assistant_id}/latest"): {"json": {"version": 1}},
    ("GET", "/assistants/{assistant_id}/schemas"): {},
    ("GET", "/assistants/{assistant_id}/subgraphs"): {},
    ("GET", "/assistants/{assistant_id}/subgraphs/{namespace}"): {},
    ("POST", "/assistants/{assistant_id}/versions"): {"json": {}},
    ("GET", "/threads/{thread_id}"): {},
    ("PATCH", "/threads/{thread_id}"): {"json": {"metadata": {"by": "b"}}},
    ("DELETE", "/threads/{thread_id}"): {},
    ("POST", "/threads/{thread_id}/copy"): {},
    ("GET", "/threads/{thread_id}/storage"): {},
    ("GET", "/threads/{thread_id}/history"): {},
    ("POST", "/threads/{thread_id}/history"): {"json": {"limit": 5}},
    ("GET", "/threads/{thread_id}/state"): {},
    ("POST", "/threads/{thread_id}/state"): {"json": {"values": {"value": "b was here"}}},
    ("POST", "/threads/{thread_id}/state/checkpoint"): {"json": {"checkpoint": {"checkpoint_id": "{checkpoint_id}"}}},
    ("GET", "/threads/{thread_id}/state/{checkpoint_id}"): {},
    ("GET", "/threads/{thread_id}/stream"): {},
    ("POST", "/threads/prune"): {"json": {"thread_ids": ["{thread_id}"]}},
    ("GET", "/threads/{thread_id}/runs"): {},
    ("POST", "/threads/{thread_id}/runs"): {"json": {"assistant_id": "echo", "input": {"value": "b"}}},
    ("POST", "/threads/{thread_id}/runs/wait"): {"json": {"assistant_id": "echo", "input": {"value": "b"}}},
    ("POST", "/threads/{thread_id}/runs/stream"): {"json": {"assistant_id": "echo", "input": {"value": "b"}}},
    ("POST", "/threads/{thread_id}/runs/crons"): {"json": {"assistant_id": "echo", "schedule": NEVER}},
    ("GET", "/threads/{thread_id}/runs/{run_id}"): {},
    ("DELETE", "/threads/{thread_id}/runs/{run_id}"): {},
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): {},
    ("GET", "/threads/{thread_id}/runs/{run_id}/join"): {},
    ("GET", "/threads/{thread_id}/runs/{run_id}/stream"): {},
    ("GET", "/runs/{run_id}/stream"): {},
    ("POST", "/runs/cancel"): {"json": {"thread_id": "{thread_id}", "run_ids": ["{run_id}"]}},
    # A's assistant, used by B: refused like an assistant that does not exist.
    ("POST", "/runs"): {"json": {"assistant_id": "{assistant_id}", "input": {"value": "b"}}},
    ("POST", "/runs/wait"): {"json": {"assistant_id": "{assistant_id}", "input": {"value": "b"}}},
    ("POST", "/runs/stream"): {"json": {"assistant_id": "{assistant_id}", "input": {"value": "b"}}},
    ("POST", "/runs/batch"): {"json": [{"assistant_id": "{assistant_id}", "input": {"value": "b"}}]},
    ("POST", "/runs/crons"): {"json": {"assistant_id": "{assistant_id}", "schedule": NEVER}},
    ("GET", "/runs/crons/{cron_id}"): {},
    ("PATCH", "/runs/crons/{cron_id}"): {"json": {"enabled": False}},
    ("DELETE", "/runs/crons/{cron_id}"): {},
}
# Operations that name no resource of A's (creation, search, count, the store's own namespaces): checked below.
COLLECTIONS = {
    ("POST", "/assistants"),
    ("POST", "/assistants/search"),
    ("POST", "/assistants/count"),
    ("POST", "/threads"),
    ("POST", "/threads/search"),
    ("POST", "/threads/count"),
    ("POST", "/runs/crons/search"),
    ("POST", "/runs/crons/count"),
    ("GET", "/store/items"),
    ("PUT", "/store/items"),
    ("DELETE", "/store/items"),
    ("POST", "/store/items/search"),
    ("POST", "/store/namespaces"),
}
# The A2A and MCP routes answer an unknown or another user's resource in their protocols' words: checked below.
PROTOCOLS = {
    ("POST", "/a2a/{assistant_id}"),
    ("GET", "/a2a/{assistant_id}"),
    ("GET", "/a2a/{assistant_id}/.well-known/agent-card.json"),
    ("GET", "/a2a/{assistant_id}/.well-known/agent.json"),
    ("GET", "/.well-known/agent-card.json"),
    ("POST", "/mcp/"),
    ("GET", "/mcp/"),
    ("DELETE", "/mcp/"),
}

# Thread-centric streaming: an unknown thread is made by the first run.start (as officially), so only another
# user's thread answers 404 there: checked below (and over the websocket in test_thread_stream.py).
THREAD_STREAMS = {
    ("POST", "/threads/{thread_id}/commands"): {"id": 1, "method": "run.start", "params": {"assistant_id": "echo"}},
    ("POST", "/threads/{thread_id}/stream/events"): {"channels": ["values"]},
}


@pytest.fixture(scope="module")
def world(auth_stack):
    """A's resources: an assistant, a thread with a finished run (so state and history exist), a cron on the
    thread and a stateless one, a store item."""
    a = user_client(auth_stack, A)
    assistant = a.assistants.create("subgraph", metadata={"team": "a"})
    thread = a.threads.create(metadata={"topic": "a's"})
    run = a.runs.create(thread["thread_id"], "echo", input={"value": "a"})
    a.runs.join(thread["thread_id"], run["run_id"])
    state = a.threads.get_state(thread["thread_id"])
    thread_cron = a.crons.create_for_thread(thread["thread_id"], "echo", schedule=NEVER)
    cron = a.crons.create(assistant["assistant_id"], schedule=NEVER)
    a.store.put_item(["notes"], "k", {"text": "a's note"})
    return {
        "client": a,
        "assistant_id": assistant["assistant_id"],
        "thread_id": thread["thread_id"],
        "run_id": run["run_id"],
        "checkpoint_id": state["checkpoint"]["checkpoint_id"],
        "cron_id": cron["cron_id"],
        "thread_cron_id": thread_cron["cron_id"],
        "namespace": "child",
    }


def _fill(template, ids: dict):
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), template)
    if isinstance(template, list):
        return [_fill(item, ids) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    return template


def _request(stack, token: str | None, method: str, path: str, request: dict, ids: dict) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": _fill(request["json"], ids)} if "json" in request else {}
    response = httpx.request(method, stack.url + _fill(path, ids), headers=headers, timeout=60, **kwargs)
    text = response.text
    for name, value in ids.items():
        if name != "namespace":
            text = text.replace(str(value), f"<{name}>")
    return response.status_code, text


def _unknown_ids(world: dict) -> dict:
    return {name: uuid.uuid4() if name != "namespace" else world[name] for name in world if name != "client"} | {
        "checkpoint_id": world["checkpoint_id"]  # a real checkpoint id, on a thread B cannot see
    }


def _served_operations(stack) -> set[tuple[str, str]]:
    spec = httpx.get(f"{stack.url}/openapi.json").json()
    return {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}


def test_every_route_of_the_openapi_has_a_case(auth_stack):
    assert _served_operations(auth_stack) == set(ON_A_RESOURCE) | COLLECTIONS | OPEN | PROTOCOLS | set(THREAD_STREAMS)


@pytest.mark.parametrize(("method", "path"), sorted(THREAD_STREAMS))
def test_another_users_thread_is_404_to_the_thread_centric_stream(auth_stack, world, method, path):
    request = {"json": THREAD_STREAMS[(method, path)]}
    status, body = _request(auth_stack, B, method, path, request, {"thread_id": world["thread_id"]})
    assert (status, json.loads(body)) == (404, {"detail": "Thread with ID <thread_id> not found"})
    assert [run["run_id"] for run in world["client"].runs.list(world["thread_id"])] == [world["run_id"]]


def _a_still_has_it_all(world: dict) -> None:
    a = world["client"]
    a.assistants.get(world["assistant_id"])
    a.threads.get(world["thread_id"])
    a.runs.get(world["thread_id"], world["run_id"])
    for cron_id in (world["cron_id"], world["thread_cron_id"]):
        a.http.get(f"/runs/crons/{cron_id}")
    assert a.store.get_item(["notes"], "k") is not None


# Deletes last, so that a delete that wrongly succeeded cannot hide what the other cases would show.
@pytest.mark.parametrize(("method", "path"), sorted(ON_A_RESOURCE, key=lambda op: (op[0] == "DELETE", op)))
def test_another_users_resource_answers_exactly_as_an_unknown_id(auth_stack, world, method, path):
    request = ON_A_RESOURCE[(method, path)]
    mine = {name: value for name, value in world.items() if name != "client"}
    on_a = _request(auth_stack, B, method, path, request, mine)
    unknown = _request(auth_stack, B, method, path, request, _unknown_ids(world))

    assert on_a == unknown
    status, body = on_a
    assert status == 404 or (status == 200 and "404: " in body), (status, body)
    _a_still_has_it_all(world)


def test_a_still_has_everything_and_b_changed_nothing(auth_stack, world):
    """After the matrix above (module order): every refused write left A's data as it was."""
    a = world["client"]
    assistant = a.assistants.get(world["assistant_id"])
    assert (assistant["version"], assistant["metadata"]) == (1, {"team": "a", "owner": "user1"})
    thread = a.threads.get(world["thread_id"])
    assert thread["metadata"]["topic"] == "a's" and "by" not in thread["metadata"]
    assert a.threads.get_state(world["thread_id"])["values"]["value"] == "a"
    assert [run["run_id"] for run in a.runs.list(world["thread_id"])] == [world["run_id"]]
    for cron_id in (world["cron_id"], world["thread_cron_id"]):
        assert a.http.get(f"/runs/crons/{cron_id}")["enabled"] is True
    assert a.store.get_item(["notes"], "k")["value"] == {"text": "a's note"}


def test_search_and_count_never_show_another_users_resources(auth_stack, world):
    b = user_client(auth_stack, B)
    own = {
        "thread": b.threads.create()["thread_id"],
        "assistant": b.assistants.create("echo")["assistant_id"],
        "cron": b.crons.create("echo", schedule=NEVER)["cron_id"],
    }
    threads, assistants, crons = (
        b.threads.search(limit=1000),
        b.assistants.search(limit=1000),
        b.crons.search(limit=1000),
    )

    assert own["thread"] in [t["thread_id"] for t in threads]
    assert {t["metadata"]["owner"] for t in threads} == {"user2"} and b.threads.count() == len(threads)
    # The tutorial's handler rewrites the search's own metadata.owner to the caller, as it would officially.
    assert {t["metadata"]["owner"] for t in b.threads.search(metadata={"owner": "user1"})} <= {"user2"}
    assert b.threads.count(metadata={"topic": "a's"}) == 0
    assert own["assistant"] in [x["assistant_id"] for x in assistants]
    # Assistants are also readable by the users in their shared_with (tests/graphs/auth.py; test_auth_semantics).
    readable = [
        x for x in assistants if x["metadata"]["owner"] == "user2" or "user2" in x["metadata"].get("shared_with", [])
    ]
    assert readable == assistants and b.assistants.count() == len(assistants)
    assert world["assistant_id"] not in [x["assistant_id"] for x in assistants]
    assert b.assistants.count(graph_id="subgraph") == 0
    assert own["cron"] in [c["cron_id"] for c in crons] and b.crons.count() == len(crons)
    assert {c["metadata"]["owner"] for c in crons} == {"user2"}
    assert b.crons.search(thread_id=world["thread_id"]) == [] and b.crons.count(thread_id=world["thread_id"]) == 0
    assert b.store.search_items(["notes"])["items"] == []
    assert ["user1", "notes"] not in b.store.list_namespaces()["namespaces"]
    assert own["thread"] not in [t["thread_id"] for t in world["client"].threads.search(limit=1000)]


def test_the_store_gives_each_user_their_own_namespace(auth_stack, world):
    b = user_client(auth_stack, B)
    assert b.store.get_item(["notes"], "k") is None
    b.store.put_item(["notes"], "k", {"text": "b's note"})
    b.store.delete_item(["notes"], "x")
    assert b.store.get_item(["notes"], "k")["value"] == {"text": "b's note"}
    b.store.delete_item(["notes"], "k")

    a = world["client"]
    assert a.store.get_item(["notes"], "k")["value"] == {"text": "a's note"}
    assert [item["key"] for item in a.store.search_items(["notes"])["items"]] == ["k"]


def test_creating_with_another_users_id_is_a_conflict_and_returns_nothing_of_theirs(auth_stack, world):
    """As officially: an existing thread or assistant outside the caller's filter is 409, even with
    if_exists=do_nothing (which would otherwise return it)."""
    b = user_client(auth_stack, B)
    with pytest.raises(ConflictError):
        b.threads.create(thread_id=world["thread_id"], if_exists="do_nothing")
    with pytest.raises(ConflictError):
        b.assistants.create("echo", assistant_id=world["assistant_id"], if_exists="do_nothing")
    assert world["client"].threads.get(world["thread_id"])["metadata"]["owner"] == "user1"


def test_bulk_cancel_only_touches_the_callers_runs(auth_stack, world):
    a, b = world["client"], user_client(auth_stack, B)
    thread = a.threads.create()["thread_id"]
    run = a.runs.create(thread, "sleepy", input={"seconds": 1, "steps": 30})
    for status in ("all", "pending", "running"):
        response = httpx.post(
            f"{auth_stack.url}/runs/cancel", json={"status": status}, headers={"Authorization": f"Bearer {B}"}
        )
        assert response.status_code == 404, response.text
    assert a.runs.get(thread, run["run_id"])["status"] in ("pending", "running")
    with pytest.raises(NotFoundError):
        b.runs.cancel(thread, run["run_id"])
    a.runs.cancel(thread, run["run_id"], wait=True)
    assert a.runs.get(thread, run["run_id"])["status"] == "interrupted"


def _ws_url(stack) -> str:
    return stack.url.replace("http://", "ws://") + "/ws"


async def _subscribe(stack, token: str, message: dict) -> dict:
    async with connect(_ws_url(stack), additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "subscribe", "id": "s", **message}))
        return json.loads(await asyncio.wait_for(ws.recv(), 30))


def test_websocket_refuses_another_users_streams_as_unknown_ones(auth_stack, world):
    for message in ({"thread_id": world["thread_id"]}, {"thread_id": world["thread_id"], "run_id": world["run_id"]}):
        on_a = asyncio.run(_subscribe(auth_stack, B, message))
        unknown = asyncio.run(_subscribe(auth_stack, B, {k: str(uuid.uuid4()) for k in message}))
        assert on_a == unknown and on_a["type"] == "error", on_a
    subscribe = {"thread_id": world["thread_id"], "run_id": world["run_id"], "last_event_id": "-"}
    assert asyncio.run(_subscribe(auth_stack, A, subscribe)) == {"type": "subscribed", "id": "s"}


@pytest.mark.parametrize("token", [None, "not-a-token", "user1-token"])
def test_websocket_handshake_without_valid_credentials_is_closed_with_4401(auth_stack, token):
    async def scenario():
        headers = {"Authorization": f"Bearer {token}" if token != "user1-token" else token} if token else {}
        async with connect(_ws_url(auth_stack), additional_headers=headers) as ws:
            refusal = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await ws.wait_closed()
            return refusal, ws.close_code

    refusal, code = asyncio.run(scenario())
    assert code == 4401 and refusal["type"] == "error" and refusal["status"] == 401


def test_anonymous_callers_get_401_everywhere_but_the_open_routes(auth_stack):
    counted = auth_stack.sql("SELECT count(*) FROM threads_thread")
    for method, path in sorted(_served_operations(auth_stack)):
        ids = {"assistant_id": uuid.uuid4(), "thread_id": uuid.uuid4(), "run_id": uuid.uuid4()}
        ids |= {"cron_id": uuid.uuid4(), "checkpoint_id": uuid.uuid4(), "namespace": "x"}
        request = {} if method in ("GET", "DELETE") else {"json": {"assistant_id": "echo", "graph_id": "echo"}}
        for token, detail in ((None, "Unauthorized"), ("nope", "Invalid token")):
            status, body = _request(auth_stack, token, method, path, request, ids)
            if (method, path) in OPEN:
                assert status == 200, (method, path, body)
            else:
                assert (status, json.loads(body)) == (401, {"detail": detail}), (method, path)
    for path in ("/docs", "/openapi.json"):
        assert httpx.get(auth_stack.url + path).status_code == 200
    assert httpx.get(f"{auth_stack.url}/no/such/route").status_code == 401
    assert auth_stack.sql("SELECT count(*) FROM threads_thread") == counted  # nothing was written


def _rpc(stack, token: str | None, path: str, method: str, params: dict) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(stack.url + path, json=body, headers=headers, timeout=60)


def test_another_users_agents_tasks_and_tools_answer_as_unknown_ones(auth_stack, world):
    """A2A and MCP see through the same filters: B's answers about A's agent, task and tool are those about
    unknown ones, and an anonymous caller is refused before any of it."""
    a = world["client"]
    agent = a.assistants.create("echo", name=f"a's agent {uuid.uuid4().hex[:6]}")["assistant_id"]
    send = {"message": {"role": "user", "parts": [{"kind": "text", "text": "hi"}], "messageId": "m1"}}
    task = _rpc(auth_stack, A, f"/a2a/{agent}", "message/send", send).json()["result"]
    assert task["status"]["state"] == "completed", task

    def as_b(assistant_id, method: str, params: dict) -> dict:
        answer = _rpc(auth_stack, B, f"/a2a/{assistant_id}", method, params).json()
        return json.loads(json.dumps(answer).replace(str(assistant_id), "<id>"))

    unknown = uuid.uuid4()
    assert as_b(agent, "message/send", send) == as_b(unknown, "message/send", send)
    assert as_b(agent, "message/send", send)["error"] == {"code": -32602, "message": "Assistant '<id>' not found"}
    for method in ("tasks/get", "tasks/cancel"):
        on_a = as_b(agent, method, {"id": task["id"]})
        assert on_a["error"] == {"code": -32001, "message": f"Task not found: {task['id']}"}, on_a
    card = f"/a2a/{agent}/.well-known/agent-card.json"
    refused = httpx.get(auth_stack.url + card, headers={"Authorization": f"Bearer {B}"})
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, f"Assistant '{agent}' not found")

    tools = _rpc(auth_stack, B, "/mcp", "tools/list", {}).json()["result"]["tools"]
    name = a.assistants.get(agent)["name"].replace(" ", "_").replace("'", "")
    assert name not in [tool["name"] for tool in tools]
    assert name in [tool["name"] for tool in _rpc(auth_stack, A, "/mcp", "tools/list", {}).json()["result"]["tools"]]
    called = _rpc(auth_stack, B, "/mcp", "tools/call", {"name": name, "arguments": {}}).json()
    assert called["error"] == {"code": -32602, "message": f"Unknown tool: {name}"}

    for path in (card, "/.well-known/agent-card.json", "/mcp", f"/a2a/{agent}"):
        response = httpx.get(auth_stack.url + path)
        assert (response.status_code, response.json()) == (401, {"detail": "Unauthorized"}), path
    assert _rpc(auth_stack, None, f"/a2a/{agent}", "message/send", send).status_code == 401
    assert _rpc(auth_stack, None, "/mcp", "tools/list", {}).status_code == 401
