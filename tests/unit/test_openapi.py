"""/openapi.json must describe every route the URLconf serves, with the methods its view accepts, and validate."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
NOT_API = ("/admin", "/static", "/openapi.json", "/docs")
ERROR_REF = "#/components/schemas/ErrorResponse"


def _served_routes(patterns: list, prefix: str = "") -> list[tuple[str, object, dict]]:
    """(OpenAPI path, view callback, sample kwargs) for every URL pattern, in resolution order."""
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _served_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            names = re.findall(r"<(?:\w+:)?(\w+)>", route)
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            kwargs = {name: "00000000-0000-0000-0000-000000000001" for name in names}
            routes.append((path, pattern.callback, kwargs))
    return [route for route in routes if not route[0].startswith(NOT_API)]


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, object, dict]]:
    return _served_routes(get_resolver().url_patterns)


def _answers_405(callback, method: str, path: str, kwargs: dict) -> bool:
    request = RequestFactory().generic(method.upper(), path, data=b"{}", content_type="application/json")
    call = async_to_sync(callback) if asyncio.iscoroutinefunction(callback) else callback
    try:
        return call(request, **kwargs).status_code == 405
    except Exception:  # the view went on to serve the method (here without a database)
        return False


def _documented_as(schema: dict, path: str) -> str:
    """The documented path a route answers as: itself, or its twin with(out) a trailing slash (/mcp and /mcp/)."""
    twin = path[:-1] if path.endswith("/") else f"{path}/"
    return path if path in schema["paths"] or twin not in schema["paths"] else twin


def test_every_served_route_is_documented(schema, routes):
    missing = sorted({path for path, _, _ in routes if _documented_as(schema, path) not in schema["paths"]})
    assert missing == []


def test_documented_paths_are_all_served(schema, routes):
    served = {path for path, _, _ in routes}
    assert sorted(set(schema["paths"]) - served) == []


def test_class_based_views_document_exactly_their_methods(schema, routes):
    for path, callback, _ in routes:
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        accepted = {method for method in HTTP_METHODS if hasattr(view_class, method)}
        documented = set(schema["paths"][path]) & set(HTTP_METHODS)
        for method in accepted - documented:
            # Left out only when a templated path documents the same request (e.g. GET
            # /threads/{thread_id}/state/checkpoint is GET /threads/{thread_id}/state/{checkpoint_id}).
            assert _documented_elsewhere(schema, path, method), f"{method.upper()} {path}"
        assert documented <= accepted, path


def _documented_elsewhere(schema: dict, path: str, method: str) -> bool:
    for other, operations in schema["paths"].items():
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(other))
        if other != path and method in operations and re.fullmatch(pattern, path):
            return True
    return False


def test_function_views_refuse_every_undocumented_method(schema, routes):
    for path, callback, kwargs in routes:
        if getattr(callback, "cls", None) is not None:
            continue
        documented = set(schema["paths"][_documented_as(schema, path)])
        assert documented, path
        for method in set(HTTP_METHODS) - documented:
            assert _answers_405(callback, method, path, kwargs), f"{method.upper()} {path} is served but undocumented"


def test_async_run_endpoints_are_documented_with_their_parameters(schema):
    def params(path: str, method: str) -> set[str]:
        return {param["name"] for param in schema["paths"][path][method]["parameters"]}

    assert {"wait", "action"} <= params("/threads/{thread_id}/runs/{run_id}/cancel", "post")
    assert {"cancel_on_disconnect"} <= params("/threads/{thread_id}/runs/{run_id}/join", "get")
    join_stream = params("/threads/{thread_id}/runs/{run_id}/stream", "get")
    assert {"thread_id", "run_id", "stream_mode", "cancel_on_disconnect", "Last-Event-ID"} <= join_stream
    assert {"stream_modes", "Last-Event-ID"} <= params("/threads/{thread_id}/stream", "get")


def test_run_creating_endpoints_take_the_run_create_schemas(schema):
    def body_ref(path: str) -> str:
        return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    assert body_ref("/threads/{thread_id}/runs").endswith("/RunCreateStateful")
    assert body_ref("/threads/{thread_id}/runs/wait").endswith("/RunCreateStreamingStateful")
    assert body_ref("/threads/{thread_id}/runs/stream").endswith("/RunCreateStreamingStateful")
    assert body_ref("/runs/wait").endswith("/RunCreateStreamingStateless")
    assert schema["components"]["schemas"]["RunCreateStateful"]["required"] == ["assistant_id"]


def test_streaming_endpoints_answer_event_streams_and_json_errors(schema):
    streams = [
        ("/threads/{thread_id}/runs/stream", "post"),
        ("/runs/stream", "post"),
        ("/threads/{thread_id}/runs/{run_id}/stream", "get"),
        ("/threads/{thread_id}/stream", "get"),
    ]
    for path, method in streams:
        responses = schema["paths"][path][method]["responses"]
        assert "text/event-stream" in responses["200"]["content"], path
        assert responses["404"]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF, path
    assert schema["components"]["schemas"]["ErrorResponse"]["properties"] == {"detail": {"type": "string"}}


def test_operations_carry_the_official_tags_and_unique_ids(schema):
    official = {"Assistants", "Threads", "Thread Runs", "Stateless Runs", "Crons", "Store", "System"}
    official |= {"A2A", "MCP", "Streaming"}
    operations = [op for item in schema["paths"].values() for method, op in item.items() if method in HTTP_METHODS]
    assert {tag for op in operations for tag in op["tags"]} <= official
    assert schema["paths"]["/info"]["get"]["tags"] == ["System"]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))


def test_description_documents_the_websocket_route(schema):
    from runs.streams.routing import websocket_urlpatterns

    for pattern in websocket_urlpatterns:
        assert f"/{pattern.pattern}" in schema["info"]["description"]


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "openapi.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert out.stat().st_size > 0


def test_run_resources_are_described_by_the_run_schema_not_a_bare_object(schema):
    def ok_schema(path: str, method: str) -> dict:
        return schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok_schema("/threads/{thread_id}/runs/{run_id}", "get") == {"$ref": "#/components/schemas/Run"}
    assert ok_schema("/runs", "post") == {"$ref": "#/components/schemas/Run"}
    assert ok_schema("/threads/{thread_id}/runs", "get")["items"] == {"$ref": "#/components/schemas/Run"}
    assert "204" in schema["paths"]["/runs/cancel"]["post"]["responses"]
