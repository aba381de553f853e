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
        "/threads/{thread_id}/stream/events": "post",
        "/threads/{thread_id}/commands": "post",
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


def test_docs_page_loads_swagger_ui_from_this_server(stack):
    """No CDN: the page's scripts and styles are static files served by the server itself."""
    page = httpx.get(f"{stack.url}/docs").text
    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    script = httpx.get(f"{stack.url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert script.status_code == 200
