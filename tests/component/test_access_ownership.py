"""Ownership applied in the selectors and services (real Postgres): with the tutorial's handler (stamp the owner,
filter by it) another user's thread, run, cron or store item is exactly as absent as an unknown one."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest

from access.identity import authenticate_request_sync
from agentplatform.errors import NotFound
from agentplatform.graphs import get_registry
from crons import services as cron_services
from runs import selectors as run_selectors
from runs import services as run_services
from runs.models import Run
from store import selectors as store_selectors
from store import services as store_services
from threads import selectors as thread_selectors
from threads import services as thread_services

pytestmark = pytest.mark.django_db

OWNER_AND_NAMESPACES = """
TOKENS = {"a": "alice", "b": "bob"}


@auth.authenticate
async def authenticate(authorization: str | None):
    return {"identity": TOKENS[authorization], "permissions": ["p"]}


@auth.on
async def owned(ctx, value):
    value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.store
async def own_namespace(ctx, value):
    value["namespace"] = (ctx.user.identity, *(value.get("namespace") or ()))


@auth.on.store.search
async def search_own_items(ctx, value):
    await own_namespace(ctx, value)  # the most specific handler answers alone
    return {"owner": ctx.user.identity}
"""


@pytest.fixture(autouse=True)
def owners(use_auth, monkeypatch):
    get_registry()  # the test graphs, loaded before langgraph.json points at the auth file
    use_auth(OWNER_AND_NAMESPACES)
    monkeypatch.setattr("runs.engine.doorbell.ring", lambda run_id, countdown=None: None)
    monkeypatch.setattr("agentplatform.stream_log.finish_sync", lambda *a, **k: None)


def _user(token: str):
    return authenticate_request_sync(method="GET", path="/threads", headers={"authorization": token}).user


def _detail(call) -> str:
    with pytest.raises(NotFound) as missing:
        call()
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", missing.value.detail)


def test_another_users_thread_is_as_absent_as_an_unknown_one():
    alice, bob = _user("a"), _user("b")
    thread = thread_services.thread_create(metadata={"topic": "t"}, user=alice)
    unknown = uuid.uuid4()

    assert thread.metadata == {"topic": "t", "owner": "alice"}
    for action in (
        lambda tid: thread_selectors.thread_get(thread_id=tid, user=bob),
        lambda tid: thread_services.thread_delete(thread_id=tid, user=bob),
        lambda tid: thread_services.thread_copy(thread_id=tid, user=bob),
        lambda tid: run_selectors.run_list(thread_id=tid, user=bob),
    ):
        assert _detail(lambda a=action: a(thread.thread_id)) == _detail(lambda a=action: a(unknown))
    assert thread_selectors.thread_search(user=bob) == ([], False)
    assert thread_selectors.thread_count(user=bob) == 0 and thread_selectors.thread_count(user=alice) == 1
    assert thread_selectors.thread_get(thread_id=thread.thread_id, user=alice) == thread


def test_runs_carry_their_caller_and_bulk_cancel_skips_other_users_runs():
    alice, bob = _user("a"), _user("b")
    thread = thread_services.thread_create(user=alice)
    run = run_services.run_create(thread_id=thread.thread_id, payload={"assistant_id": "echo"}, user=alice)
    configurable = run.kwargs["config"]["configurable"]

    assert (configurable["langgraph_auth_user_id"], configurable["langgraph_auth_permissions"]) == ("alice", ["p"])
    assert run.metadata["owner"] == "alice"
    with pytest.raises(NotFound):
        run_services.run_cancel(status="all", user=bob)
    with pytest.raises(NotFound):
        run_services.run_create(thread_id=thread.thread_id, payload={"assistant_id": "echo"}, user=bob)
    assert Run.objects.get(pk=run.pk).status == Run.Status.PENDING
    assert run_services.run_cancel(status="all", user=alice) == [run.run_id]


def test_a_cron_fires_as_the_user_who_created_it():
    alice = _user("a")
    cron = cron_services.cron_create(
        body={"assistant_id": "echo"}, assistant_id="echo", schedule="* * * * *", user=alice
    )
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2)

    assert cron_services.crons_fire_due(now=later) == 1
    run = Run.objects.get(kwargs__config__configurable__cron_id=str(cron.cron_id))
    assert run.kwargs["config"]["configurable"]["langgraph_auth_user_id"] == "alice"
    assert run.thread.metadata["owner"] == "alice"


def test_store_handlers_rewrite_the_namespace_and_narrow_searches():
    alice, bob = _user("a"), _user("b")
    put = store_services.store_item_put  # index=False: no embedding model is loaded for these
    put(namespace=["notes"], key="k", value={"owner": "alice", "n": 1}, index=False, user=alice)
    put(namespace=["notes"], key="other", value={"owner": "eve"}, index=False, user=alice)

    assert store_selectors.store_item_get(namespace=["notes"], key="k", user=bob) is None
    assert store_selectors.store_item_get(namespace=["alice", "notes"], key="k").value["n"] == 1
    found = store_selectors.store_item_search(namespace_prefix=["notes"], filter={"n": 1}, user=alice)
    assert [item.key for item in found] == ["k"]
    assert store_selectors.store_item_search(namespace_prefix=["notes"], filter={"owner": "eve"}, user=alice) == []
    assert store_selectors.store_namespace_list(user=bob) == []
    store_services.store_item_delete(namespace=["notes"], key="k", user=bob)
    assert store_selectors.store_item_get(namespace=["notes"], key="k", user=alice) is not None
