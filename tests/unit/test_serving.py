"""The outer layers of the ASGI entry point: the mount prefix and the custom app's lifespan (agentplatform.serving,
agentplatform.lifespan)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import pytest

from agentplatform.lifespan import Lifespan
from agentplatform.serving import mounted, with_lifespan


def recorder(name: str, calls: list):
    async def app(scope, receive, send):
        calls.append((name, scope["path"], scope.get("root_path", "")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def call(app, scope: dict) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "root_path": "", **scope}, receive, send))
    return sent


def test_without_a_prefix_everything_is_served_as_is():
    calls: list = []
    served = recorder("served", calls)
    assert mounted(served, recorder("api", calls), None) is served


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/threads", ("served", "/api/threads", "/api")),
        ("/api/", ("served", "/api/", "/api")),
        ("/ok", ("api", "/ok", "")),
        ("/metrics", ("api", "/metrics", "")),
        ("/", ("api", "/", "")),
    ],
)
def test_below_the_prefix_goes_to_the_app_and_health_checks_stay_at_the_root(path, expected):
    calls: list = []
    call(mounted(recorder("served", calls), recorder("api", calls), "/api"), {"path": path})
    assert calls == [expected]


@pytest.mark.parametrize("path", ["/threads", "/apix/threads", "/info", "/docs"])
def test_anything_else_outside_the_prefix_is_a_json_404(path):
    calls: list = []
    sent = call(mounted(recorder("served", calls), recorder("api", calls), "/api"), {"path": path})
    assert calls == []
    assert sent[0]["status"] == 404
    assert json.loads(sent[1]["body"]) == {"detail": "Not Found"}


def test_the_prefix_itself_redirects_to_its_slash():
    sent = call(mounted(recorder("served", []), recorder("api", []), "/api"), {"path": "/api", "query_string": b"a=1"})
    assert sent[0]["status"] == 307
    assert sent[0]["headers"] == [(b"location", b"/api/?a=1")]


def test_a_websocket_outside_the_prefix_is_closed():
    calls: list = []
    sent = call(
        mounted(recorder("served", calls), recorder("api", calls), "/api"), {"type": "websocket", "path": "/ws"}
    )
    assert sent == [{"type": "websocket.close", "code": 1000}]


def tracked(events: list, *, fail_startup: bool = False):
    @asynccontextmanager
    async def context():
        task = asyncio.current_task()
        events.append(("startup", task))
        if fail_startup:
            raise RuntimeError("no database")
        yield
        events.append(("shutdown", task))

    return context


def test_lifespan_enters_and_leaves_in_one_task_once():
    events: list = []
    lifespan = Lifespan(tracked(events))

    async def scenario():
        await asyncio.gather(lifespan.startup(), lifespan.startup())
        await lifespan.shutdown()

    asyncio.run(scenario())
    assert [name for name, _ in events] == ["startup", "shutdown"]
    assert events[0][1] is events[1][1]


def test_requests_wait_for_the_startup_and_see_its_failure():
    events: list = []
    app = with_lifespan(recorder("api", []), Lifespan(tracked(events, fail_startup=True)))
    with pytest.raises(RuntimeError, match="no database"):
        call(app, {"path": "/threads"})


def test_lifespan_events_of_an_asgi_server_are_answered():
    events: list = []
    app = with_lifespan(recorder("api", []), Lifespan(tracked(events)))
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert [name for name, _ in events] == ["startup", "shutdown"]


def test_a_failed_startup_is_reported_to_the_asgi_server():
    app = with_lifespan(recorder("api", []), Lifespan(tracked([], fail_startup=True)))
    sent: list = []

    async def receive():
        return {"type": "lifespan.startup"}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "no database" in sent[0]["message"]
