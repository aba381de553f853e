"""TTLs end to end: threads and store items expire on their own, swept by beat processes."""

import time
import uuid

import pytest
from langgraph_sdk.errors import NotFoundError

pytestmark = pytest.mark.integration


def _wait_for(predicate, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def fast_sweeps(stack):
    """A beat that sweeps every second (the stack's own sweeps once a minute)."""
    stack.start_beat("beat-ttl", extra_env={"THREAD_TTL_SWEEP_SECS": "1", "STORE_TTL_SWEEP_SECS": "1"})
    yield
    stack.stop("beat-ttl")


def _thread_gone(client, thread_id) -> bool:
    try:
        client.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


def test_thread_with_ttl_is_deleted_with_its_checkpoints(client, stack, fast_sweeps):
    thread = client.threads.create()
    kept = client.threads.create()
    client.runs.wait(thread["thread_id"], "echo", input={"value": "hi"})
    client.threads.update(
        thread["thread_id"], metadata={}, ttl={"ttl": 0.02, "strategy": "delete"}
    )  # 1.2 seconds from now
    _wait_for(lambda: _thread_gone(client, thread["thread_id"]), "the expired thread to be swept")
    checkpoints = stack.sql("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread["thread_id"],))
    assert checkpoints == [(0,)]
    assert client.threads.get(kept["thread_id"])["thread_id"] == kept["thread_id"]


def test_store_item_with_ttl_disappears_and_is_swept(client, stack, fast_sweeps):
    ns = ["ttl", uuid.uuid4().hex[:12]]
    client.store.put_item(ns, "brief", {"v": 1}, index=False, ttl=0.02)
    client.store.put_item(ns, "lasting", {"v": 2}, index=False)
    _wait_for(lambda: client.store.get_item(ns, "brief") is None, "the item to expire")
    _wait_for(
        lambda: stack.sql("SELECT count(*) FROM store WHERE prefix = %s", (".".join(ns),)) == [(1,)],
        "the sweep to delete the expired row",
    )
    assert client.store.get_item(ns, "lasting")["value"] == {"v": 2}
