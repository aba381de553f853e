"""`http.mount_prefix` and the `http.disable_*` toggles (tests/graphs/langgraph_http_prefix.json): everything under
the prefix (the API through langgraph_sdk, the custom app, the docs, the admin), the health checks also at the
root, disabled route groups answering 404 and gone from /openapi.json, as officially."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

import httpx
import pytest
from django.utils.html import escapejs
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import NotFoundError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).resolve().parent.parent / "graphs" / "langgraph_http_prefix.json"
PREFIX = "/my-deployment/api"


@pytest.fixture(scope="module")
def prefix_stack():
    redis_uri = os.environ["REDIS_URI"].rsplit("/", 1)[0] + "/14"  # its own Celery queue
    stack = Stack(
        base_env={**INTEGRATION_ENV, "LANGGRAPH_CONFIG": str(CONFIG), "REDIS_URI": redis_uri},
        log_dir=Path(tempfile.mkdtemp(prefix="agentplatform-http-prefix-")),
    )
    stack.create_database()
    stack.start_api_and_workers("worker")  # waits for /ok at the root, which a mount prefix keeps
    yield stack
    stack.stop_all()


@pytest.fixture
def base(prefix_stack):
    return prefix_stack.url + PREFIX


@pytest.fixture
def sdk(base):
    return get_sync_client(url=base)


def test_sdk_runs_end_to_end_below_the_prefix(sdk):
    thread = sdk.threads.create()
    assert sdk.runs.wait(thread["thread_id"], "echo", input={"value": "hi"})["value"] == "hi"
    chunks = list(sdk.runs.stream(thread["thread_id"], "echo", input={"value": "two"}, stream_mode="values"))
    assert chunks[-1].data["count"] == 2
    run = sdk.runs.create(thread["thread_id"], "echo", input={"value": "three"})
    assert sdk.runs.join(thread["thread_id"], run["run_id"])["count"] == 3
    assert sdk.threads.get_state(thread["thread_id"])["values"]["value"] == "three"


def test_api_routes_are_not_served_outside_the_prefix(prefix_stack):
    response = httpx.post(f"{prefix_stack.url}/threads", json={})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert httpx.get(f"{prefix_stack.url}/docs").status_code == 404
    assert httpx.get(f"{prefix_stack.url}/hello").status_code == 404


def test_health_checks_also_answer_at_the_root(prefix_stack, base):
    for url in (prefix_stack.url, base):
        assert httpx.get(f"{url}/ok").json() == {"ok": True}
        assert httpx.get(f"{url}/").json() == {"ok": True}
        assert httpx.get(f"{url}/metrics").status_code == 200
    assert httpx.get(f"{prefix_stack.url}/info").status_code == 404
    assert httpx.get(base, follow_redirects=True).json() == {"ok": True}  # the prefix itself: 307 to its slash
    assert httpx.get(f"{base}/info").json() == {"custom": "info"}  # the custom app's, which shadows /info


def test_custom_app_is_below_the_prefix_too(base):
    assert httpx.get(f"{base}/hello").json()["Hello"] == "World"
    assert httpx.get(f"{base}/where").json() == {"path": f"{PREFIX}/where", "root_path": PREFIX}


def test_disabled_route_groups_answer_404(sdk, base):
    assert sdk.threads.search() is not None  # the groups left on are served below the prefix
    with pytest.raises(NotFoundError):
        sdk.store.put_item(["ns"], "key", {"v": 1})
    with pytest.raises(NotFoundError):
        sdk.assistants.get("00000000-0000-0000-0000-000000000000")
    response = httpx.get(f"{base}/store/items", params={"namespace": "ns", "key": "key"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_openapi_names_the_prefix_and_leaves_out_disabled_routes(base):
    spec = httpx.get(f"{base}/openapi.json").json()
    assert spec["servers"] == [{"url": PREFIX}]
    paths = spec["paths"]
    assert "/threads" in paths and "/threads/{thread_id}/runs/wait" in paths
    assert not [path for path in paths if path.startswith("/store")]
    assert not [path for path in paths if path.startswith("/assistants") and path != "/assistants/search"]
    assert "/hello" in paths  # the custom app's, at its path below the server URL
    run_create = spec["components"]["schemas"]["RunCreateStateful"]
    assert "webhook" not in run_create.get("properties", {})  # http.disable_webhooks


def test_docs_and_admin_are_below_the_prefix(base):
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200
    assert escapejs(f"{PREFIX}/openapi.json") in docs.text  # the schema URL Swagger UI loads
    assert f"{PREFIX}/static/drf_spectacular_sidecar/" in docs.text
    login = httpx.get(f"{base}/admin/login/")
    assert login.status_code == 200
    assert f'action="{PREFIX}/admin/login/' in login.text
    assert f"{PREFIX}/static/admin/css/base.css" in login.text
    css = httpx.get(f"{base}/static/admin/css/base.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    redirect = httpx.get(f"{base}/admin/")
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(f"{PREFIX}/admin/login/")


def test_websocket_streams_below_the_prefix_only(prefix_stack, base, sdk):
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(thread_id, "echo", input={"value": "ws"})
    sdk.runs.join(thread_id, run["run_id"])

    async def subscribe(url):
        async with connect(url) as ws:
            await ws.send(
                json.dumps({"type": "subscribe", "id": "s1", "thread_id": thread_id, "run_id": run["run_id"]})
            )
            messages = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
            return messages

    messages = asyncio.run(subscribe(base.replace("http://", "ws://") + "/ws"))
    assert messages[0] == {"type": "subscribed", "id": "s1"}
    with pytest.raises(InvalidStatus):
        asyncio.run(subscribe(prefix_stack.url.replace("http://", "ws://") + "/ws"))
