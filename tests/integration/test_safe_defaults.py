"""What a web page on another site can do to a server with auth off (the default): nothing. No CORS origin is
allowed, a cross-site `text/plain` POST (which browsers send without asking) never reaches a run, and a
state-changing request from a foreign Origin is refused before it acts."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

EVIL = "https://evil.example"


def test_no_origin_is_allowed_by_default(stack):
    response = httpx.get(f"{stack.url}/ok", headers={"Origin": EVIL})
    preflight = httpx.options(
        f"{stack.url}/runs/wait", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_a_text_plain_post_never_reaches_a_run(stack, client):
    thread = client.threads.create()["thread_id"]
    body = b'{"assistant_id": "echo", "input": {"value": "from a web page"}}'
    for path in (f"/threads/{thread}/runs/wait", "/runs/wait", f"/threads/{thread}/runs", "/runs/stream"):
        response = httpx.post(stack.url + path, content=body, headers={"Content-Type": "text/plain"})
        assert (response.status_code, response.json()) == (
            415,
            {"detail": 'Unsupported media type "text/plain" in request.'},
        ), path
    assert client.runs.list(thread) == []


def test_a_state_changing_request_from_a_foreign_origin_is_refused(stack, client):
    thread = client.threads.create()["thread_id"]
    copied = httpx.post(f"{stack.url}/threads/{thread}/copy", headers={"Origin": EVIL})
    assert copied.status_code == 403 and "is not allowed" in copied.json()["detail"]
    own_page = httpx.post(f"{stack.url}/threads/{thread}/copy", headers={"Origin": stack.url})
    assert own_page.status_code == 200  # the server's own pages (/docs) are same-origin
