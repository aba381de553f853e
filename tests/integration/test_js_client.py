"""The official JS client (@langchain/langgraph-sdk, pinned in tests/js/package.json) works against the server: with
custom auth (the auth stack, tests/graphs/auth.py) and without (the session stack).

tests/js/js_client_check.mjs drives the client and prints what it saw, one JSON line a step; each scenario runs
once (one `node` process) and the tests below assert on its lines, with expected values from the contract."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.stack import ROOT

pytestmark = pytest.mark.integration

JS_DIR = ROOT / "tests" / "js"


# The client's bundled ESM dependencies load only where Node detects module syntax by itself (20.19 and later).
NODE_AT_LEAST = (20, 19)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: scripts/test.sh installs it (apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if tuple(map(int, version.lstrip("v").split(".")[:2])) < NODE_AT_LEAST:
        pytest.fail(
            f"node {version} is too old for @langchain/langgraph-sdk: it needs {'.'.join(map(str, NODE_AT_LEAST))}+"
        )
    return node


def _run_js(scenario: str, url: str) -> dict[str, dict]:
    node = _node()
    if not (JS_DIR / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        pytest.fail("the JS client is not installed: run `npm ci` in tests/js (scripts/test.sh does)")
    done = subprocess.run(
        [node, "js_client_check.mjs", scenario, url], cwd=JS_DIR, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, f"the JS scenario {scenario} crashed:\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
    return {record["step"]: record for record in map(json.loads, done.stdout.splitlines())}


def ok(steps: dict, name: str):
    """The value of a step that had to succeed."""
    assert name in steps, f"the JS scenario printed no step {name!r}"
    assert "error" not in steps[name], f"{name}: the JS client raised {steps[name]['error']}"
    return steps[name]["value"]


def refused(steps: dict, name: str) -> tuple[int, str]:
    """(status, message) of the error a step had to raise."""
    assert "error" in steps[name], f"{name}: the JS client was not refused, it got {steps[name].get('value')!r}"
    return steps[name]["error"]["status"], steps[name]["error"]["message"]


def events_named(stream: dict, name: str) -> list:
    return [data for event, data in stream["events"] if event == name]


def run_of(steps: dict, name: str) -> str:
    """The run id the client learned from a stream's Content-Location."""
    return ok(steps, name)["created"]["run_id"]


def in_order(ids: list[str]) -> bool:
    """Stream ids (`<ms>-<seq>`) strictly increasing: none repeated, none out of order."""
    keys = [tuple(map(int, i.split("-"))) for i in ids]
    return keys == sorted(set(keys))


@pytest.fixture(scope="module")
def with_auth(auth_stack) -> dict[str, dict]:
    return _run_js("auth", auth_stack.url)


@pytest.fixture(scope="module")
def without_auth(stack) -> dict[str, dict]:
    return _run_js("no-auth", stack.url)


# With custom auth (tests/graphs/auth.py: bearer tokens, every resource private to its creator).


def test_a_user_creates_and_runs_with_their_token(with_auth):
    assert ok(with_auth, "assistant")["metadata"] == {"from": "js", "owner": "user1"}
    assert ok(with_auth, "thread")["metadata"] == {"from": "js", "owner": "user1"}
    assert ok(with_auth, "wait")["count"] == 1
    assert ok(with_auth, "whoami") == {
        "user_id": "user1",
        "identity": "user1",
        "display_name": "Alice",
        "permissions": ["write"],
    }


def test_a_user_streams_values_messages_and_updates(with_auth):
    stream = ok(with_auth, "stream")
    [metadata] = events_named(stream, "metadata")
    assert stream["created"]["run_id"] == metadata["run_id"]  # from Content-Location, as the client reads it
    assert stream["created"]["thread_id"] == ok(with_auth, "thread")["thread_id"]
    assert events_named(stream, "values")[-1]["count"] == 2  # the wait's run, then this one
    [update] = events_named(stream, "updates")
    assert update["echo"]["count"] == 1
    message, message_metadata = events_named(stream, "messages")[-1]  # messages-tuple: [message, metadata]
    assert (message["type"], message["content"]) == ("ai", "echo: hey")
    assert message_metadata["langgraph_node"] == "echo"


def test_a_user_lists_only_their_own_threads(with_auth):
    mine = ok(with_auth, "thread")["thread_id"]
    assert mine in ok(with_auth, "a_search")
    assert mine not in ok(with_auth, "b_search")
    assert ok(with_auth, "a_count") >= 1 and ok(with_auth, "b_count") == 0  # A's {"from": "js"} threads


def test_another_users_thread_and_assistant_are_404_to_the_js_client(with_auth):
    for name in ("b_get", "b_wait", "b_stream", "b_assistant"):
        assert refused(with_auth, name)[0] == 404, name


def test_a_bad_or_missing_credential_is_a_401_the_js_client_reports(with_auth):
    for name, detail in (
        ("bad_token", "Invalid token"),
        ("no_token", "Unauthorized"),
        ("bad_api_key", "Invalid API key"),
    ):
        status, message = refused(with_auth, name)
        assert status == 401 and message.startswith("HTTP 401: "), message  # the client's HTTPError
        assert json.loads(message.removeprefix("HTTP 401: ")) == {"detail": detail}


def test_the_store_is_per_user_through_the_js_client(with_auth):
    assert ok(with_auth, "store_put") is None  # 204
    item = ok(with_auth, "store_get")
    namespace = ["user1", *ok(with_auth, "store_namespace")]  # tests/graphs/auth.py puts the user first
    assert (item["namespace"], item["key"], item["value"]) == (namespace, "k", {"text": "a's note"})
    assert [x["value"] for x in ok(with_auth, "store_search")["items"]] == [{"text": "a's note"}]
    assert ok(with_auth, "store_b_get") is None
    assert ok(with_auth, "store_b_search")["items"] == []


def test_streams_end_without_a_reconnect(with_auth, without_auth):
    """The client reconnects when a stream closes while the run is still pending or running: ours close after
    the run ended, so the only GET .../stream requests are the join and the resume after a dropped connection."""
    expected = {
        "auth": [],
        "no-auth": [ok(without_auth, "join_stream")["run_id"], run_of(without_auth, "resumed_stream")],
    }
    for scenario, steps in (("auth", with_auth), ("no-auth", without_auth)):
        requests = ok(steps, "requests")
        reconnects = [r.split("/")[-2] for r in requests if r.startswith("GET ") and r.endswith("/stream")]
        assert reconnects == expected[scenario], requests


# Without auth (the session stack).


def test_threads_create_and_runs_stream(without_auth):
    thread = ok(without_auth, "thread")
    stream = ok(without_auth, "stream")
    [metadata] = events_named(stream, "metadata")
    assert stream["created"] == {"run_id": metadata["run_id"], "thread_id": thread["thread_id"]}
    tokens = [m["content"] for m, _ in events_named(stream, "messages")]
    assert "".join(tokens) == "hello there friend"  # the fake chat model's tokens, streamed
    assert events_named(stream, "values")[-1]["messages"][-1]["content"] == "hello there friend"
    assert ok(without_auth, "state")["messages"][-1]["content"] == "hello there friend"


def test_a_stateless_run_streams(without_auth):
    stream = ok(without_auth, "stateless_stream")
    assert [event for event, _ in stream["events"]] == ["metadata", "updates"]
    assert "thread_id" not in stream["created"]  # a stateless run's Content-Location names no thread


def test_a_failing_run_raises_from_wait_and_ends_its_stream_with_the_error(without_auth):
    assert refused(without_auth, "wait_error") == (None, "ValueError: kaboom")  # from /wait's 200 `__error__`
    stream = ok(without_auth, "stream_error")
    assert stream["events"][-1] == ["error", {"error": "ValueError", "message": "kaboom"}]


def test_runs_join_stream(without_auth):
    joined = ok(without_auth, "join_stream")
    assert joined["status"] == "success"
    assert [event for event, _ in joined["events"]] == ["metadata", "values", "custom", "values"]
    assert events_named(joined, "metadata") == [{"run_id": joined["run_id"], "attempt": 1}]
    assert events_named(joined, "custom") == [{"sleeping": 0.5}]
    assert events_named(joined, "values")[-1]["done"] == ["slept"]
    assert len(joined["ids"]) == 4 and in_order(joined["ids"])  # resumable: each event has an id


def test_a_dropped_run_stream_resumes_where_it_stopped(without_auth):
    """The connection drops after two events; the client checks the run, reconnects to the stream's Location
    with Last-Event-ID and gets the rest: nothing lost, nothing twice."""
    resumed = ok(without_auth, "resumed_stream")
    assert [event for event, _ in resumed["events"]] == ["metadata", "values", "custom", "values"]
    assert events_named(resumed, "values")[-1]["done"] == ["slept"]
    assert len(resumed["ids"]) == 4 and in_order(resumed["ids"])
    run = f"/threads/{resumed['created']['thread_id']}/runs/{resumed['created']['run_id']}"
    assert resumed["requests"] == [
        f"POST {run.rsplit('/', 1)[0]}/stream",
        f"GET {run}",
        f"GET {run}/stream",
        f"GET {run}",
    ]


def test_thread_history(without_auth):
    """The chat thread's checkpoints, newest first: done, after the input, the input."""
    assert ok(without_auth, "history") == [[], ["talk"], ["__start__"]]


def test_assistants_search(without_auth):
    assert len(ok(without_auth, "assistants_search")) >= 1


def test_the_store(without_auth):
    assert ok(without_auth, "store_put") is None
    assert ok(without_auth, "store_get")["value"] == {"text": "note", "n": 2}
    assert ok(without_auth, "store_missing") is None
    found = ok(without_auth, "store_search")["items"]
    assert [x["value"] for x in found] == [{"text": "note", "n": 2}]
    assert found[0]["namespace"] in ok(without_auth, "store_namespaces")["namespaces"]
    assert ok(without_auth, "store_delete") is None


def test_crons(without_auth):
    cron = ok(without_auth, "cron")
    assert cron["cron_id"] in cron["found"]
