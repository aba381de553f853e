"""GET /openapi.json over Daphne documents the async endpoints too, and /docs renders it."""

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_openapi_json_lists_async_run_stream_and_system_paths(stack):
    response = httpx.get(f"{stack.url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/")
    paths = response.json()["paths"]
    expected = {
        "/threads/{thread_id}/runs/wait": "post",
        "/runs/wait": "post",
        "/threads/{thread_id}/runs/{run_id}/join": "get",
        "/threads/{thread_id}/runs/{run_id}/cancel": "post",
        "/threads/{thread_id}/runs/stream": "post",
        "/runs/stream": "post",
        "/threads/{thread_id}/runs/{run_id}/stream": "get",
        "/threads/{thread_id}/stream": "get",
        "/ok": "get",
        "/info": "get",
        "/metrics": "get",
        "/assistants": "post",
    }
    assert {path: method for path, method in expected.items() if method not in paths.get(path, {})} == {}


def test_docs_page_points_at_the_schema(stack):
    response = httpx.get(f"{stack.url}/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
