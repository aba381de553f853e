"""Run-completion webhooks through a real worker (api-surface §2.12): refused on loopback by default, delivered
with the run's fields when langgraph.json allows the loopback receiver of this test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import UnprocessableEntityError

from tests.conftest import INTEGRATION_ENV
from tests.stack import separate_stack

pytestmark = pytest.mark.integration
WEBHOOK_CONFIG = Path(__file__).resolve().parent.parent / "graphs" / "langgraph_webhooks.json"


@pytest.fixture
def receiver():
    received: list[tuple[dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture
def webhook_stack():
    stack = separate_stack(
        {**INTEGRATION_ENV, "LG_WEBHOOK_TEST_SECRET": "s3cret"},
        langgraph_config=WEBHOOK_CONFIG,
        redis_db=7,
        prefix="agentplatform-webhooks-",
    )
    yield stack
    stack.stop_all()


def test_loopback_webhook_is_refused_by_default(client):
    thread = client.threads.create()
    with pytest.raises(UnprocessableEntityError):
        client.runs.create(thread["thread_id"], "echo", input={}, webhook="http://127.0.0.1:9/hook")


def test_relative_webhook_is_refused_as_loopback_by_default(client):
    thread = client.threads.create()
    with pytest.raises(UnprocessableEntityError) as refused:
        client.runs.create(thread["thread_id"], "echo", input={}, webhook="/my-route")
    assert "webhooks.url.disable_loopback" in refused.value.response.json()["detail"]


def test_webhook_receives_the_finished_run(webhook_stack, receiver):
    url, received = receiver
    client = get_sync_client(url=webhook_stack.url)
    thread = client.threads.create()
    ok = client.runs.create(thread["thread_id"], "echo", input={"value": "w"}, webhook=url)
    client.runs.join(thread["thread_id"], ok["run_id"])
    failed = client.runs.create(thread["thread_id"], "fail", input={}, webhook=url)
    client.runs.join(thread["thread_id"], failed["run_id"])
    deadline = time.monotonic() + 30
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    by_run = {payload["run_id"]: (headers, payload) for headers, payload in received}
    headers, payload = by_run[ok["run_id"]]
    assert payload["status"] == "success"
    assert payload["thread_id"] == thread["thread_id"]
    assert payload["values"]["value"] == "w"
    assert payload["run_started_at"] and payload["run_ended_at"] and payload["webhook_sent_at"]
    assert headers.get("X-Test-Hook") == "yes"
    assert headers.get("X-Test-Secret") == "token s3cret", "${{ env.X }} templates are resolved at start-up"
    _, failed_payload = by_run[failed["run_id"]]
    assert failed_payload["status"] == "error"
    assert failed_payload["error"] == {"error": "ValueError", "message": "kaboom"}
