"""A project folder written for the official server (tests/projects/official_style: graphs, auth, a custom HTTP
app, configurable headers, dependencies) runs unchanged: each factory shape is called as officially, the headers
http.configurable_headers lets through reach the graphs, the thread state endpoints build a factory's graph for
the caller and headers a run would, and the custom app's route is served behind the project's auth.

The expected values are what the official server (langgraph-api 0.16.7, `langgraph dev`) answers for the same
project and requests.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import NotFoundError

from tests.conftest import INTEGRATION_ENV
from tests.stack import separate_stack

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parent.parent / "projects" / "official_style"
HEADERS = {
    "x-user-id": "u-1",
    "x-organization-id": "org-7",
    "my-prefix-a": "a",
    "my-prefix-secret": "s",
    "x-other": "o",
    "authorization": "Bearer t",  # auth.py: the user "user-t"
    "x-request-id": "req-42",
}
# What the graph saw of the request: the included headers, never the excluded or the credentials.
COPIED = {"x-user-id": "u-1", "x-organization-id": "org-7", "my-prefix-a": "a", "langgraph_request_id": "req-42"}


@pytest.fixture(scope="module")
def project_stack():
    config = PROJECT / "langgraph.json"
    stack = separate_stack(INTEGRATION_ENV, langgraph_config=config, redis_db=11, prefix="agentplatform-official-")
    yield stack
    stack.stop_all()


@pytest.fixture
def project_client(project_stack):
    return get_sync_client(url=project_stack.url, api_key="a-key-the-graph-never-sees", headers=HEADERS)


def _wait(client, graph_id: str, thread_id: str | None = None, **kwargs) -> dict:
    return client.runs.wait(thread_id, graph_id, input={"question": "?"}, **kwargs)


def _copied(seen: dict) -> dict:
    return {k: v for k, v in seen.items() if k in {*HEADERS, "x-api-key", "langgraph_request_id"}}


@pytest.mark.parametrize("graph_id", ["compiled", "config_factory", "runtime_factory", "both_factory"])
def test_included_headers_reach_the_graph_and_excluded_ones_never(project_client, graph_id):
    seen = _wait(project_client, graph_id)["seen"]
    assert _copied(seen) == COPIED
    assert seen["user-agent"].startswith("langgraph-sdk-py/")


def test_a_run_carries_its_callers_identity_as_user_id(project_client):
    seen = _wait(project_client, "compiled")["seen"]
    assert (seen["user_id"], seen["langgraph_auth_user_id"]) == ("user-t", "user-t")
    given = _wait(project_client, "compiled", config={"configurable": {"user_id": "given"}})["seen"]
    assert given["user_id"] == "given"  # a user_id the config gives wins, as officially


def test_compiled_graph_sees_the_env_of_langgraph_json(project_client):
    assert _wait(project_client, "compiled")["built_with"] == {"kind": "compiled", "greeting": "hello"}


def test_config_factory_is_built_with_the_request_headers(project_client):
    assert _wait(project_client, "config_factory")["built_with"] == {"kind": "config", "x-organization-id": "org-7"}


def test_runtime_factory_gets_an_execution_runtime_with_the_runs_context(project_client):
    built_with = _wait(project_client, "runtime_factory", context={"model": "m"})["built_with"]
    assert built_with == {
        "kind": "runtime",
        "access_context": "threads.create_run",
        "user": "user-t",
        "has_store": True,
        "context": {"model": "m"},
    }


def test_async_factory_taking_config_and_runtime_on_a_thread(project_client):
    thread = project_client.threads.create()
    built_with = _wait(project_client, "both_factory", thread["thread_id"])["built_with"]
    assert built_with == {
        "kind": "both",
        "x-user-id": "u-1",
        "access_context": "threads.create_run",
        "user": "user-t",
        "has_store": True,
        "context": {},
    }


def test_async_context_manager_factory(project_client):
    built_with = _wait(project_client, "context_manager")["built_with"]
    assert built_with == {"kind": "context manager", "x-organization-id": "org-7"}


def test_streamed_runs_see_the_headers_too(project_client):
    chunks = list(project_client.runs.stream(None, "config_factory", input={"question": "?"}, stream_mode="values"))
    last = [chunk.data for chunk in chunks if chunk.event == "values"][-1]
    assert _copied(last["seen"]) == COPIED


def test_without_x_request_id_each_run_gets_one_of_its_own(project_stack):
    client = get_sync_client(url=project_stack.url, headers={"authorization": "Bearer t"})
    first, second = (_wait(client, "compiled")["seen"]["langgraph_request_id"] for _ in range(2))
    assert first and second and first != second


def test_the_object_form_of_a_graph_entry_describes_its_system_assistant(project_client):
    assistant = project_client.assistants.search(graph_id="runtime_factory")[0]
    assert assistant["description"] == "Built for each use from its ServerRuntime"
    assert assistant["name"] == "runtime_factory"
    assert assistant["metadata"] == {"created_by": "system"}


def test_schemas_of_a_runtime_factory_are_built_for_assistants_read(project_client):
    assistant = project_client.assistants.search(graph_id="runtime_factory")[0]
    schemas = project_client.assistants.get_schemas(assistant["assistant_id"])
    assert schemas["graph_id"] == "runtime_factory"
    # The factory names its graph for the access context it was built for; the state schema's title shows it.
    assert schemas["state_schema"]["title"] == "assistants.read_state"
    assert "seen" in schemas["output_schema"]["properties"]


# graph_per_caller names its node for the caller (auth.py) and their x-user-id header.
PER_CALLER_NODE = "answer_user-t_u-1"


@pytest.fixture
def paused_thread(project_client) -> dict:
    """A thread whose per_caller run stopped before its node: the state's `next` names the node only when the
    graph of the read is the graph of the run."""
    thread = project_client.threads.create()
    _wait(project_client, "per_caller", thread["thread_id"], interrupt_before=[PER_CALLER_NODE])
    return thread


def test_thread_state_reads_build_the_graph_for_the_caller_and_headers_of_the_request(project_client, paused_thread):
    thread_id = paused_thread["thread_id"]
    state = project_client.threads.get_state(thread_id)
    assert state["next"] == [PER_CALLER_NODE]
    checkpoint_id = state["checkpoint"]["checkpoint_id"]
    at_checkpoint = project_client.threads.get_state(thread_id, checkpoint_id=checkpoint_id)  # GET /state/{id}
    assert at_checkpoint["next"] == [PER_CALLER_NODE]
    by_body = project_client.threads.get_state(thread_id, checkpoint=state["checkpoint"])  # POST /state/checkpoint
    assert by_body["next"] == [PER_CALLER_NODE]
    assert project_client.threads.get_history(thread_id, limit=1)[0]["next"] == [PER_CALLER_NODE]  # POST /history


def test_get_history_builds_the_graph_for_the_request_too(project_stack, paused_thread):
    response = httpx.get(f"{project_stack.url}/threads/{paused_thread['thread_id']}/history", headers=HEADERS)
    assert response.status_code == 200
    assert response.json()[0]["next"] == [PER_CALLER_NODE]


def test_state_update_as_the_callers_node_is_recorded_with_their_user_id(project_client, paused_thread):
    thread_id = paused_thread["thread_id"]
    project_client.threads.update_state(thread_id, {"question": "updated"}, as_node=PER_CALLER_NODE)
    latest = project_client.threads.get_history(thread_id, limit=1)[0]
    assert latest["values"]["question"] == "updated"
    assert latest["next"] == []
    # As officially: the update's config carries the caller's display name and the included headers.
    assert latest["metadata"]["user_id"] == "user-t"
    assert latest["metadata"]["x-user-id"] == "u-1"


def test_custom_route_is_served_behind_the_projects_auth_with_its_middleware_and_lifespan(project_stack):
    url = f"{project_stack.url}/whoami"
    response = httpx.get(url, headers={"authorization": "Bearer t"})
    assert response.status_code == 200
    assert response.json() == {"identity": "user-t", "greeting": "hello from the lifespan"}
    assert response.headers["x-custom-header"] == "Hello from middleware!"
    assert httpx.get(url).status_code == 401


def test_auth_py_keeps_threads_to_their_owner_and_the_custom_middleware_wraps_the_api(project_stack, paused_thread):
    other = get_sync_client(url=project_stack.url, headers={"authorization": "Bearer someone-else"})
    with pytest.raises(NotFoundError):
        other.threads.get_state(paused_thread["thread_id"])
    response = httpx.get(f"{project_stack.url}/threads/{paused_thread['thread_id']}", headers=HEADERS)
    assert response.json()["metadata"]["owner"] == "user-t"
    assert response.headers["x-custom-header"] == "Hello from middleware!"
