"""The SSE wire format byte for byte, with raw httpx: headers, frames, ids, errors (api-surface §2.8)."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

ECHO = {"assistant_id": "echo", "input": {"value": "x"}}
FRAME = re.compile(rb"event: ([^\r\n]+)\r\ndata: ([^\r\n]*)\r\n(?:id: (\d+-\d+)\r\n)?\r\n")


@pytest.fixture
def http(stack):
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def new_thread(http) -> str:
    return http.post("/threads", json={}).json()["thread_id"]


def read_stream(http, method: str, path: str, **kwargs) -> tuple[httpx.Response, bytes]:
    with http.stream(method, path, **kwargs) as response:
        return response, b"".join(response.iter_bytes())


def frames(raw: bytes) -> list[tuple[str, object, str | None]]:
    """Every byte of the body must belong to a frame or a heartbeat comment."""
    body = raw.replace(b": heartbeat\r\n\r\n", b"")
    found = FRAME.findall(body)
    assert b"".join(m.group(0) for m in FRAME.finditer(body)) == body
    return [(e.decode(), json.loads(d), i.decode() if i else None) for e, d, i in found]


def test_stream_response_headers_match_the_official_server(http):
    thread_id = new_thread(http)
    response, _ = read_stream(http, "POST", f"/threads/{thread_id}/runs/stream", json=ECHO)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    run_id = response.headers["content-location"].rsplit("/", 1)[1]
    assert response.headers["content-location"] == f"/threads/{thread_id}/runs/{run_id}"
    assert response.headers["location"] == f"/threads/{thread_id}/runs/{run_id}/stream"


def test_stateless_stream_points_at_runs_paths(http):
    response, raw = read_stream(http, "POST", "/runs/stream", json=ECHO)
    run_id = response.headers["content-location"].rsplit("/", 1)[1]
    assert response.headers["content-location"] == f"/runs/{run_id}"
    assert response.headers["location"] == f"/runs/{run_id}/stream"
    assert frames(raw)[0] == ("metadata", {"run_id": run_id, "attempt": 1}, None)


def test_frames_have_no_ids_unless_the_run_is_resumable_and_no_end_event(http):
    thread_id = new_thread(http)
    _, raw = read_stream(http, "POST", f"/threads/{thread_id}/runs/stream", json=ECHO)
    parsed = frames(raw)
    assert [name for name, _, _ in parsed] == ["metadata", "values", "values"]
    assert all(event_id is None for _, _, event_id in parsed)
    assert raw.startswith(b"event: metadata\r\ndata: {")


def test_resumable_runs_send_increasing_redis_stream_ids(http):
    thread_id = new_thread(http)
    _, raw = read_stream(http, "POST", f"/threads/{thread_id}/runs/stream", json={**ECHO, "stream_resumable": True})
    ids = [event_id for _, _, event_id in frames(raw)]
    assert len(ids) == 3 and all(ids)
    as_tuples = [tuple(int(part) for part in event_id.split("-")) for event_id in ids]
    assert as_tuples == sorted(as_tuples) and len(set(as_tuples)) == 3


def test_error_event_carries_error_type_and_message(http):
    thread_id = new_thread(http)
    _, raw = read_stream(http, "POST", f"/threads/{thread_id}/runs/stream", json={"assistant_id": "fail", "input": {}})
    assert raw.endswith(b'event: error\r\ndata: {"error":"ValueError","message":"kaboom"}\r\n\r\n')


def test_creation_errors_are_json_not_sse(http):
    response = http.post(f"/threads/{uuid.uuid4()}/runs/stream", json=ECHO)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "detail" in response.json()
    bad_mode = http.post(f"/threads/{new_thread(http)}/runs/stream", json={**ECHO, "stream_mode": "bogus"})
    assert bad_mode.status_code == 422
    assert http.post("/threads/not-a-uuid/runs/stream", json=ECHO).json() == {
        "detail": "Invalid thread ID: must be a UUID"
    }
    not_json = http.post("/runs/stream", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


def test_join_of_unknown_run_is_200_with_an_error_event(http):
    thread_id = new_thread(http)
    response, raw = read_stream(http, "GET", f"/threads/{thread_id}/runs/{uuid.uuid4()}/stream")
    assert response.status_code == 200
    assert raw == b'event: error\r\ndata: {"error":"HTTPException","message":"404: Run not found"}\r\n\r\n'


def test_join_treats_a_malformed_last_event_id_as_none_and_the_thread_stream_refuses_it(http):
    # As the official server: the run join streams live events only; the thread stream answers 422.
    thread_id = new_thread(http)
    created, _ = read_stream(http, "POST", f"/threads/{thread_id}/runs/stream", json={**ECHO, "stream_resumable": True})
    joined, raw = read_stream(http, "GET", created.headers["location"], headers={"Last-Event-ID": "nope"})
    assert (joined.status_code, raw) == (200, b"")
    refused = http.get(f"/threads/{thread_id}/stream", headers={"Last-Event-ID": "nope"})
    assert refused.status_code == 422
    assert refused.json() == {"detail": "Invalid last-event-id: must be a valid Redis stream ID"}


def test_join_replays_with_dash_and_ids_match_the_original_stream(http):
    thread_id = new_thread(http)
    response, raw = read_stream(
        http, "POST", f"/threads/{thread_id}/runs/stream", json={**ECHO, "stream_resumable": True}
    )
    original = frames(raw)
    location = response.headers["location"]
    _, replay = read_stream(http, "GET", location, headers={"Last-Event-ID": "-"})
    assert frames(replay) == original
    _, after_first = read_stream(http, "GET", location, headers={"Last-Event-ID": original[0][2]})
    assert frames(after_first) == original[1:]
    _, live = read_stream(http, "GET", location)
    assert live == b""


def test_thread_stream_rejects_unknown_modes(http):
    response = http.get(f"/threads/{new_thread(http)}/stream", params={"stream_modes": "values"})
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid stream mode: values"}


def test_wrong_method_is_a_json_405(http):
    response = http.get(f"/threads/{new_thread(http)}/runs/stream")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
