"""The official handler semantics through langgraph_sdk against the auth stack (tests/graphs/auth.py): precedence,
filters (shared assistants with $contains), owner stamping, refusals from a handler and from a failing one, what
the graph sees of its caller, and crons running as the user who made them."""

from __future__ import annotations

import datetime
import time
import uuid

import httpx
import pytest
from langgraph_sdk.errors import NotFoundError, PermissionDeniedError

from tests.access_support import user_client

pytestmark = pytest.mark.integration

A, B, READER = "user1-token", "user2-token", "reader-token"


def _wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def _threads_tagged(stack, tag: str) -> int:
    return stack.sql("SELECT count(*) FROM threads_thread WHERE metadata @> %s::jsonb", (f'{{"tag": "{tag}"}}',))[0][0]


def test_creates_are_stamped_with_their_owner(auth_stack):
    a = user_client(auth_stack, A)
    thread = a.threads.create(metadata={"topic": "x"})
    assistant = a.assistants.create("echo", metadata={"team": "t"})
    cron = a.crons.create("echo", schedule="0 0 1 1 *", metadata={"k": 1})
    stateless = a.runs.create(None, "echo", input={"value": "hi"}, on_completion="keep")

    assert thread["metadata"] == {"topic": "x", "owner": "user1"}
    assert assistant["metadata"] == {"team": "t", "owner": "user1"}
    assert cron["metadata"] == {"k": 1, "owner": "user1"} and cron["user_id"] == "user1"
    assert stateless["metadata"]["owner"] == "user1"
    assert a.threads.get(stateless["thread_id"])["metadata"]["owner"] == "user1"


def test_the_most_specific_handler_answers_and_its_false_is_a_403(auth_stack):
    """@auth.on.threads.create (writers only) wins over the global @auth.on, which still covers assistants."""
    reader = user_client(auth_stack, READER)
    tag = uuid.uuid4().hex
    with pytest.raises(PermissionDeniedError) as refused:
        reader.threads.create(metadata={"tag": tag})
    assert refused.value.response.json() == {"detail": "Forbidden"}
    assert _threads_tagged(auth_stack, tag) == 0
    assert reader.assistants.create("echo")["metadata"]["owner"] == "reader"


def test_a_handler_that_raises_refuses_and_writes_nothing(auth_stack):
    a = user_client(auth_stack, A)
    tag = uuid.uuid4().hex
    with pytest.raises(PermissionDeniedError):
        a.threads.create(metadata={"tag": tag, "explode": True})
    assert _threads_tagged(auth_stack, tag) == 0
    assert a.threads.create(metadata={"tag": tag})["metadata"]["owner"] == "user1"  # the server is still fine


def test_a_contains_filter_shares_an_assistant_for_reading_only(auth_stack):
    a, b = user_client(auth_stack, A), user_client(auth_stack, B)
    shared = a.assistants.create("echo", metadata={"shared_with": ["user2"]})["assistant_id"]
    private = a.assistants.create("echo", metadata={"shared_with": ["someone-else"]})["assistant_id"]

    assert b.assistants.get(shared)["assistant_id"] == shared
    assert shared in [x["assistant_id"] for x in b.assistants.search(limit=1000)]
    assert private not in [x["assistant_id"] for x in b.assistants.search(limit=1000)]
    with pytest.raises(NotFoundError):
        b.assistants.get(private)
    with pytest.raises(NotFoundError):  # update is the global owner filter: B is not the owner
        b.assistants.update(shared, metadata={"by": "b"})
    # Runs check the assistant (read) and the thread (create_run): B may run the shared one on B's thread.
    thread = b.threads.create()["thread_id"]
    assert b.runs.wait(thread, shared, input={"value": "hi"})["count"] == 1
    with pytest.raises(httpx.HTTPStatusError) as refused:  # runs.wait raises httpx's own error
        b.runs.wait(thread, private, input={"value": "hi"})
    assert refused.value.response.json() == {"detail": "Thread or assistant not found."}


def test_the_graph_sees_its_caller_as_officially(auth_stack):
    a = user_client(auth_stack, A)
    thread = a.threads.create()["thread_id"]

    seen = a.runs.wait(thread, "whoami", input={})

    assert seen == {"user_id": "user1", "identity": "user1", "display_name": "Alice", "permissions": ["write"]}
    run = a.runs.list(thread)[0]
    configurable = run["kwargs"]["config"]["configurable"]
    assert configurable["langgraph_auth_user_id"] == "user1"
    assert configurable["langgraph_auth_user"]["identity"] == "user1"


def test_a_client_cannot_pretend_to_be_someone_else(auth_stack):
    b = user_client(auth_stack, B)
    thread = b.threads.create()["thread_id"]
    spoof = {"langgraph_auth_user_id": "user1", "langgraph_auth_user": {"identity": "user1"}}
    seen = b.runs.wait(thread, "whoami", input={}, config={"configurable": spoof})
    assert seen["user_id"] == "user2" and seen["identity"] == "user2"


def test_a_cron_runs_as_the_user_who_created_it(auth_stack):
    a, b = user_client(auth_stack, A), user_client(auth_stack, B)
    tag = uuid.uuid4().hex
    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4)).replace(microsecond=0)
    schedule = f"{at.minute} {at.hour} {at.day} {at.month} * {at.second}"
    a.crons.create("whoami", schedule=schedule, input={}, metadata={"tag": tag}, on_run_completed="keep")

    [thread] = _wait_for(lambda: a.threads.search(metadata={"tag": tag}), "the cron's thread")
    run = _wait_for(lambda: a.runs.list(thread["thread_id"]), "the cron's run")[0]
    a.runs.join(thread["thread_id"], run["run_id"])

    assert thread["metadata"]["owner"] == "user1"
    assert a.threads.get_state(thread["thread_id"])["values"]["user_id"] == "user1"
    assert b.threads.search(metadata={"tag": tag}) == []


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Bearer nope", "Invalid token"),
        ("Bearer", "Unauthorized"),
        ("Basic a b c", "Unauthorized"),
        ("", "Unauthorized"),
    ],
)
def test_bad_credentials_are_401_never_500(auth_stack, authorization, detail):
    response = httpx.post(f"{auth_stack.url}/threads", json={}, headers={"Authorization": authorization})
    assert (response.status_code, response.json()) == (401, {"detail": detail})


def test_openapi_shows_the_configured_security_and_open_routes_need_none(auth_stack):
    spec = httpx.get(f"{auth_stack.url}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["components"]["securitySchemes"]["x-api-key"]["in"] == "header"
    assert spec["security"] == [{"bearer": []}, {"x-api-key": []}]
    assert spec["paths"]["/ok"]["get"]["security"] == []
    assert "security" not in spec["paths"]["/threads"]["post"]
