"""The OpenAPI document served at /openapi.json (docs at /docs): the wiring every app's part plugs into.

drf-spectacular documents the DRF views by itself. The hot and streaming endpoints are plain async Django views it
cannot see: the app that serves them documents them in its own `openapi` module, whose hook is listed in
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] before `postprocess_schema` and adds them with `add_operations`, for
every route the URLconf actually serves. This module holds the building blocks, the system routes, the shared
error component and tags, and the final checks. Names, tags and operationIds follow the official server's spec so
generated clients line up.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from agentplatform.custom_app import custom_openapi, get_custom_app, merge_openapi
from agentplatform.http_options import http_options

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
NO_CONTENT = {"description": "No content"}
UNTYPED_OBJECT = {"type": "object", "additionalProperties": {}}  # what spectacular emits for OpenApiTypes.OBJECT
_ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")

TAGS = [
    ("Assistants", "An assistant is a configured instance of a graph."),
    ("Threads", "A thread holds the accumulated state and checkpoints of a sequence of runs."),
    ("Thread Runs", "A run is one invocation of a graph or assistant on a thread."),
    ("Stateless Runs", "Runs on a temporary thread that is deleted when the run completes (on_completion)."),
    ("Crons", "Runs scheduled by a cron expression, on a thread or stateless."),
    ("Store", "Long-term memory: JSON documents under hierarchical namespaces."),
    ("A2A", "Assistants as Agent-to-Agent (A2A) protocol agents, over JSON-RPC."),
    ("MCP", "Assistants as the tools of a Model Context Protocol (MCP) server."),
    ("System", "Health, server information and metrics."),
    ("Streaming", "Thread-centric streaming (`client.threads.stream()`): commands, and a thread's events over SSE."),
]

DESCRIPTION = """LangGraph Agent Server compatible API (assistants, threads, runs, streaming, store, crons).

Errors answer `{"detail": "<message>"}` with 400, 404, 409 or 422; with authentication on, 401 (missing or bad
credentials) and 403 (refused by an auth handler). Request bodies must be `application/json` (415 otherwise).

**Server-Sent Events.** Streaming endpoints answer `text/event-stream`; each event is framed as
`event: <name>\\r\\ndata: <json>\\r\\n[id: <event id>\\r\\n]\\r\\n`. The first event is
`metadata` `{"run_id", "attempt"}`, then one event per requested `stream_mode` (`values`, `updates`, `messages`,
`custom`, `events`, `debug`, `tasks`, `checkpoints`; subgraph events are named `<mode>|<namespace>`), and
`error` `{"error", "message"}` if the run fails. Event ids are sent for resumable runs (`stream_resumable=true`) and
on the thread stream; send the last one back as the `Last-Event-ID` header to resume.

**WebSocket `/ws`** (not expressible in OpenAPI). One socket carries up to 32 subscriptions of JSON messages.
Client: `{"type": "subscribe", "id": "s1", "thread_id": "<uuid>", "run_id": "<uuid>", "last_event_id": "-",
"stream_mode": ["values"]}` follows one run like `GET /threads/{thread_id}/runs/{run_id}/stream`; without
`run_id` it follows the whole thread like `GET /threads/{thread_id}/stream`; `{"type": "unsubscribe", "id": "s1"}`.
Server: `subscribed`, `event` `{"id", "event", "event_id", "data"}`, `end` (run over), `unsubscribed`, and
`error` `{"id", "detail"}` (the other subscriptions stay open). The handshake is authenticated like any request; a
refused one gets an `error` message and close code 4000 + its status (4401, 4403).

**WebSocket `/threads/<str:thread_id>/stream/events`**: the thread-centric stream of
`POST /threads/{thread_id}/stream/events` as a socket. Every frame the client sends is a `ProtocolCommand`
(`run.start`, `input.respond`, `subscription.subscribe` with the `ProtocolEventStreamRequest` fields as params,
`subscription.unsubscribe`); the server answers each with a `ProtocolSuccess` or `ProtocolError` and sends the
subscriptions' events as JSON frames.
"""


class AutoSchema(SpectacularAutoSchema):
    """A GET on `/collection/{id}/sub/{key}` gets `_by_<key>`: the same view often also serves `/collection/{id}/sub`,
    and both would otherwise share one operationId."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        trailing = re.search(r"\{(\w+)\}$", self.path)
        if self.method == "GET" and trailing and self.path.count("{") > 1:
            return f"{operation_id}_by_{trailing.group(1)}"
        return operation_id


# --- building blocks -------------------------------------------------------------------------------------------

Operations = dict[str, dict[str, dict]]  # OpenAPI path -> method -> operation


def path_param(name: str) -> dict:
    noun = name.removesuffix("_id")
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The ID of the {noun}.",
        "schema": {"type": "string", "format": "uuid"},
    }


def query_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def json_response(schema: dict, description: str = "Success") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def sse_response(description: str) -> dict:
    schema = {"type": "string", "description": "Server-Sent Events: `event: <name>`, `data: <json>`, optional `id`."}
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": schema}},
        "headers": {
            "Location": {"description": "Where to join this run's stream again.", "schema": {"type": "string"}},
            "Content-Location": {"description": "The run's URL.", "schema": {"type": "string"}},
        },
    }


def operation(
    tag: str,
    operation_id: str,
    summary: str,
    *,
    params: list[dict] = (),
    body: str | dict | None = None,
    ok: dict,
    status: int = 200,
    errors: tuple[int, ...] = (404, 422),
) -> dict:
    """One operation; `body` names a component or is a schema; each of `errors` answers an ErrorResponse."""
    names = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Validation Error"}
    result: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "operationId": operation_id,
        "parameters": list(params),
        "responses": {str(status): ok},
    }
    for code in errors:
        result["responses"][str(code)] = json_response(ERROR_REF, names[code])
    if body is not None:
        schema = {"$ref": f"#/components/schemas/{body}"} if isinstance(body, str) else body
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return result


# --- the system routes (agentplatform.system) ---------------------------------------------------------------------


def _system_operations() -> Operations:
    ok_schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    health = operation(
        "System",
        "health_check_ok_get",
        "Health Check",
        params=[
            query_param("check_db", {"type": "integer", "enum": [0, 1], "default": 0}, "1 also checks the database."),
        ],
        ok=json_response(ok_schema),
        errors=(),
    )
    health["responses"]["500"] = json_response(ERROR_REF, "Unhealthy")
    root = {**health, "operationId": "health_check_root_get", "summary": "Health Check (root)"}
    info_schema = {
        "type": "object",
        "properties": {
            "version": {"type": "string"},
            "langgraph_py_version": {"type": "string"},
            "flags": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "host": {"type": "object"},
        },
    }
    metrics = {
        "description": "Prometheus text exposition format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    ready = operation("System", "readiness_ready_get", "Readiness", ok=json_response(ok_schema), errors=())
    ready["responses"]["503"] = json_response(ERROR_REF, "The database or Redis is unavailable")
    return {
        "/": {"get": root},
        "/ok": {"get": health},
        "/ready": {"get": ready},
        "/info": {
            "get": operation(
                "System", "server_info_info_get", "Server Information", ok=json_response(info_schema), errors=()
            )
        },
        "/metrics": {
            "get": operation("System", "system_metrics_metrics_get", "Prometheus Metrics", errors=(), ok=metrics)
        },
    }


ERROR_RESPONSE = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}


# --- the hooks ------------------------------------------------------------------------------------------------------


def routed_paths(patterns: list | None = None, prefix: str = "") -> dict[str, Any]:
    """OpenAPI path -> view callback for every HTTP route of the URLconf (first match wins, as in Django)."""
    found: dict[str, Any] = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            for path, callback in routed_paths(pattern.url_patterns, route).items():
                found.setdefault(path, callback)
        elif isinstance(pattern, URLPattern):
            found.setdefault("/" + _ROUTE_PARAM.sub(r"{\1}", route), pattern.callback)
    return found


def add_operations(result: dict, operations: Operations, components: dict[str, dict] | None = None) -> dict:
    """Add the operations drf-spectacular missed or only knew as "some object", for the routes actually served,
    and the components they refer to. For the apps' hooks."""
    served = routed_paths()
    paths = result.setdefault("paths", {})
    for path, methods in operations.items():
        if path in served:
            for method, documented in methods.items():
                current = paths.setdefault(path, {}).get(method)
                if current is None or _untyped(current):
                    paths[path][method] = documented
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in (components or {}).items():
        schemas.setdefault(name, schema)
    return result


def postprocess_schema(result: dict, generator: Any, request: Any, public: bool, **kwargs: Any) -> dict:
    """The last hook: the system routes, the error component, description and tags, the `http` settings of
    langgraph.json; sorted paths, unique ids."""
    add_operations(result, _system_operations(), {"ErrorResponse": ERROR_RESPONSE})
    result.setdefault("info", {})["description"] = DESCRIPTION
    result["tags"] = [{"name": name, "description": description} for name, description in TAGS]
    _apply_http_settings(result)
    result["paths"] = dict(sorted(result["paths"].items()))
    _check_operation_ids(result["paths"])
    return result


# The run-create bodies whose `webhook` field http.disable_webhooks removes (the official's list).
WEBHOOK_BODIES = (
    "CronCreate",
    "ThreadCronCreate",
    "RunCreateStateful",
    "RunCreateStateless",
    "RunCreateStreamingStateful",
    "RunCreateStreamingStateless",
)


def _apply_http_settings(result: dict) -> None:
    """What langgraph.json `http` changes, as officially: no `webhook` fields when webhooks are off, the custom
    app's routes (they win a path and method both serve), and the mount prefix as the server URL. Disabled
    routes need nothing here: the URLconf does not serve them, so no hook documents them."""
    if http_options().disable_webhooks:
        schemas = result.get("components", {}).get("schemas", {})
        for name in WEBHOOK_BODIES:
            schemas.get(name, {}).get("properties", {}).pop("webhook", None)
    custom = get_custom_app()
    if custom is not None:
        merge_openapi(result, custom_openapi(custom))
    if settings.MOUNT_PREFIX:
        result["servers"] = [{"url": settings.MOUNT_PREFIX}]


def _untyped(operation: dict) -> bool:
    """True when drf-spectacular only knew "some object" (a view without serializers): our table says more."""
    bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
    schemas = [media.get("schema") for body in bodies for media in body.get("content", {}).values()]
    return all(schema in (None, {}, UNTYPED_OBJECT) for schema in schemas)


def _check_operation_ids(paths: dict) -> None:
    seen: dict[str, str] = {}
    for path, operations in paths.items():
        for method, operation in operations.items():
            operation_id = operation.get("operationId") if isinstance(operation, dict) else None
            if operation_id in seen:
                warn(f'operationId "{operation_id}" of {method.upper()} {path} is also used by {seen[operation_id]}')
            elif operation_id:
                seen[operation_id] = f"{method.upper()} {path}"
