"""A custom app (langgraph.json `http.app`, tests/graphs/webapp/app.py) served beside the API on the same port, with
the official precedence, its middleware around the API too, its lifespan, and its routes in /openapi.json."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client

from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration
GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
CONFIG = GRAPHS / "langgraph_http_app.json"
HEADER = "x-custom-header"


@pytest.fixture(scope="module")
def app_stack():
    log_dir = Path(tempfile.mkdtemp(prefix="agentplatform-http-app-"))
    # Its own Redis database: a Celery queue shared with the session stack would mix the two stacks' doorbells.
    redis_uri = os.environ["REDIS_URI"].rsplit("/", 1)[0] + "/13"
    env = {"LANGGRAPH_CONFIG": str(CONFIG), "REDIS_URI": redis_uri, "WEBAPP_SHUTDOWN_MARKER": str(log_dir / "down")}
    stack = Stack(base_env={**INTEGRATION_ENV, **env}, log_dir=log_dir)
    stack.create_database()
    stack.start_api_and_workers("worker")
    yield stack
    stack.stop_all()


@pytest.fixture
def sdk(app_stack):
    return get_sync_client(url=app_stack.url)


def test_custom_route_is_served_with_its_middleware(app_stack):
    response = httpx.get(f"{app_stack.url}/hello")
    assert response.status_code == 200
    assert response.json()["Hello"] == "World"
    assert response.headers[HEADER] == "Hello from middleware!"


def test_lifespan_startup_ran_before_the_first_request(app_stack):
    assert httpx.get(f"{app_stack.url}/hello").json()["started"] is True


def test_custom_middleware_wraps_the_api_routes_too(app_stack, sdk):
    thread = sdk.threads.create()
    response = httpx.get(f"{app_stack.url}/threads/{thread['thread_id']}")
    assert response.status_code == 200
    assert response.headers[HEADER] == "Hello from middleware!"
    assert httpx.get(f"{app_stack.url}/no/such/path").headers[HEADER] == "Hello from middleware!"


def test_runs_stream_and_wait_through_the_custom_middleware(app_stack, sdk):
    thread = sdk.threads.create()
    body = {"assistant_id": "echo", "input": {"value": "raw"}}
    with httpx.stream("POST", f"{app_stack.url}/threads/{thread['thread_id']}/runs/stream", json=body) as response:
        assert response.headers[HEADER] == "Hello from middleware!"
        assert "event: metadata" in response.read().decode()
    chunks = list(sdk.runs.stream(thread["thread_id"], "echo", input={"value": "hi"}, stream_mode="values"))
    assert chunks[0].event == "metadata"
    assert chunks[-1].data["value"] == "hi"
    assert sdk.runs.wait(thread["thread_id"], "echo", input={"value": "again"})["count"] == 3


def test_custom_route_shadows_an_api_route(sdk):
    assert sdk.assistants.search() == [{"assistant_id": "from-the-custom-app"}]


def test_custom_route_shadows_info_but_not_ok_docs_openapi_metrics(app_stack):
    assert httpx.get(f"{app_stack.url}/info").json() == {"custom": "info"}
    assert httpx.get(f"{app_stack.url}/ok").json() == {"ok": True}
    assert httpx.get(f"{app_stack.url}/openapi.json").json()["info"]["title"] == "agentplatform"
    assert "swagger" in httpx.get(f"{app_stack.url}/docs").text.lower()
    assert httpx.get(f"{app_stack.url}/metrics").status_code == 200


def test_a_method_the_custom_route_lacks_goes_on_to_the_api(app_stack):
    response = httpx.delete(f"{app_stack.url}/hello")
    assert response.status_code == 404  # the official: not a 405, the API's own answer for the path
    assert response.json() == {"detail": "Not Found"}
    assert response.headers[HEADER] == "Hello from middleware!"  # through the custom app, on to the API


def test_openapi_lists_the_custom_routes_beside_the_api(app_stack):
    paths = httpx.get(f"{app_stack.url}/openapi.json").json()["paths"]
    assert paths["/hello"]["get"]["responses"] == {"200": {"description": "A greeting."}}
    assert set(paths["/where"]) == {"get", "post"}
    # The shadowing route's operation replaces the API's (an operationId made as FastAPI makes them).
    assert paths["/assistants/search"]["post"]["operationId"] == "search_assistants_assistants_search_post"
    assert paths["/threads"]["post"]["operationId"] == "threads_create"  # the API's own, untouched


def start_failing(app_stack, config: str) -> tuple[int, str]:
    """Daphne on `config` (the module's database): its exit code and log, once it has stopped by itself."""
    log_dir = Path(tempfile.mkdtemp(prefix="agentplatform-http-failing-"))
    stack = Stack(base_env={**app_stack.base_env, "LANGGRAPH_CONFIG": str(GRAPHS / config)}, log_dir=log_dir)
    stack.database_uri = app_stack.database_uri
    with pytest.raises(RuntimeError, match="process exited"):
        stack.start_api()
    return stack.processes["daphne"].wait(30), (log_dir / "daphne.log").read_text()


def test_an_app_that_fails_to_import_stops_start_up_naming_its_file(app_stack):
    code, log = start_failing(app_stack, "langgraph_http_broken.json")
    assert code != 0
    assert "http.app './webapp/broken.py:app': importing ./webapp/broken.py failed" in log
    assert "a_package_that_is_not_installed" in log


def test_a_failing_lifespan_startup_stops_the_server(app_stack):
    code, log = start_failing(app_stack, "langgraph_http_failing_lifespan.json")
    assert code == 3
    assert "The startup of the http.app lifespan failed" in log
    assert "cannot reach the reporting database" in log


def test_lifespan_shutdown_runs_when_the_server_stops(app_stack):
    # Last in this module: it stops the module's server.
    app_stack.stop("daphne")
    assert (app_stack.log_dir / "down").read_text() == "shut down"
