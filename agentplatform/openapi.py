"""The OpenAPI document served at /openapi.json (docs at /docs).

drf-spectacular documents the DRF views by itself. The hot and streaming endpoints are plain async Django views it
cannot see, so `postprocess_schema` adds them from the table below, for every route the URLconf actually serves.
Names, tags and operationIds follow the official server's spec so generated clients line up.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
UNTYPED_OBJECT = {"type": "object", "additionalProperties": {}}  # what spectacular emits for OpenApiTypes.OBJECT
_ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")

TAGS = [
    ("Assistants", "An assistant is a configured instance of a graph."),
    ("Threads", "A thread holds the accumulated state and checkpoints of a sequence of runs."),
    ("Thread Runs", "A run is one invocation of a graph or assistant on a thread."),
    ("Stateless Runs", "Runs on a temporary thread that is deleted when the run completes (on_completion)."),
    ("Crons", "Runs scheduled by a cron expression, on a thread or stateless."),
    ("Store", "Long-term memory: JSON documents under hierarchical namespaces."),
    ("System", "Health, server information and metrics."),
]

DESCRIPTION = """LangGraph Agent Server compatible API (assistants, threads, runs, streaming, store, crons).

Errors answer `{"detail": "<message>"}` with 400, 404, 409 or 422.

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
`error` `{"id", "detail"}` (the other subscriptions stay open).
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


def _path_param(name: str) -> dict:
    noun = name.removesuffix("_id")
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The ID of the {noun}.",
        "schema": {"type": "string", "format": "uuid"},
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "description": "Resume after this event id; `-` replays every buffered event. Without it only live events.",
    "schema": {"type": "string"},
}
CANCEL_ON_DISCONNECT = _query(
    "cancel_on_disconnect", {"type": "boolean", "default": False}, "Cancel the run if the client disconnects."
)
STREAM_MODES = ["values", "messages", "messages-tuple", "tasks", "checkpoints", "updates", "events", "debug", "custom"]
THREAD_STREAM_MODES = ["lifecycle", "run_modes", "state_update"]


def _one_or_many(values: list[str]) -> dict:
    one = {"type": "string", "enum": values}
    return {"anyOf": [one, {"type": "array", "items": one}]}


def _json(schema: dict, description: str = "Success") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _sse(description: str) -> dict:
    schema = {"type": "string", "description": "Server-Sent Events: `event: <name>`, `data: <json>`, optional `id`."}
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": schema}},
        "headers": {
            "Location": {"description": "Where to join this run's stream again.", "schema": {"type": "string"}},
            "Content-Location": {"description": "The run's URL.", "schema": {"type": "string"}},
        },
    }


def _operation(
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
    names = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Validation Error"}
    operation: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "operationId": operation_id,
        "parameters": list(params),
        "responses": {str(status): ok},
    }
    for code in errors:
        operation["responses"][str(code)] = _json(ERROR_REF, names[code])
    if body is not None:
        schema = {"$ref": f"#/components/schemas/{body}"} if isinstance(body, str) else body
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return operation


RUN_RESULT = {
    "type": "object",
    "additionalProperties": True,
    "description": "The final state values; `__interrupt__` when the run paused, `__error__` {error, message} when "
    "it failed (still HTTP 200). Leading newlines may precede the JSON while the run is in progress.",
}
RUN_REF = {"$ref": "#/components/schemas/Run"}
THREAD, RUN = _path_param("thread_id"), _path_param("run_id")
STATELESS_REF = {"$ref": "#/components/schemas/RunCreateStateless"}
RUN_CREATE_ERRORS = (400, 404, 409, 422)
NO_CONTENT = {"description": "No content"}
_JOIN_STREAM_PARAMS = [
    LAST_EVENT_ID,
    _query("stream_mode", _one_or_many(STREAM_MODES), "Only events of these modes (repeat, or a JSON array)."),
    CANCEL_ON_DISCONNECT,
]
CANCEL_ACTION = _query(
    "action",
    {"type": "string", "enum": ["interrupt", "rollback"], "default": "interrupt"},
    "`interrupt` stops the run; `rollback` also deletes it and its checkpoints.",
)


# --- the operations drf-spectacular cannot see, keyed by OpenAPI path and method --------------------------------


def _create_operations(*, stateful: bool) -> dict[str, dict[str, dict]]:
    """POST runs, runs/wait and runs/stream, on a thread or stateless: one body, three ways to answer."""
    if stateful:
        prefix, tag, body, params = "/threads/{thread_id}/runs", "Thread Runs", "RunCreateStateful", [THREAD]
        ids = (
            "create_run_threads__thread_id__runs_post",
            "wait_run_threads__thread_id__runs_wait_post",
            "stream_run_threads__thread_id__runs_stream_post",
        )
    else:
        prefix, tag, body, params = "/runs", "Stateless Runs", "RunCreateStateless", []
        ids = ("run_stateless_runs_post", "wait_run_stateless_runs_wait_post", "stream_run_stateless_runs_stream_post")
    variants = [
        ("", "Create Background Run", _json(RUN_REF, "The run, still pending")),
        ("/wait", "Create Run, Wait for Output", _json(RUN_RESULT)),
        ("/stream", "Create Run, Stream Output", _sse("The run's events; the stream closes when the run ends.")),
    ]
    return {
        prefix + suffix: {
            "post": _operation(tag, operation_id, summary, params=params, body=body, ok=ok, errors=RUN_CREATE_ERRORS)
        }
        for (suffix, summary, ok), operation_id in zip(variants, ids, strict=True)
    }


def _run_operations() -> dict[str, dict[str, dict]]:
    """Operations on one run of a thread."""
    params = [THREAD, RUN]
    return {
        "/threads/{thread_id}/runs/{run_id}": {
            "get": _operation(
                "Thread Runs",
                "get_run_http_threads__thread_id__runs__run_id__get",
                "Get Run",
                params=params,
                ok=_json(RUN_REF),
            ),
            "delete": _operation(
                "Thread Runs",
                "delete_run_threads__thread_id__runs__run_id__delete",
                "Delete Run",
                params=params,
                ok=NO_CONTENT,
                status=204,
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/join": {
            "get": _operation(
                "Thread Runs",
                "join_run_http_threads__thread_id__runs__run_id__join_get",
                "Join Run",
                params=[*params, CANCEL_ON_DISCONNECT],
                ok=_json(RUN_RESULT),
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/stream": {
            "get": _operation(
                "Thread Runs",
                "stream_run_http_threads__thread_id__runs__run_id__join_get",
                "Join Run Stream",
                params=[*params, *_JOIN_STREAM_PARAMS],
                ok=_sse(
                    "Events after `Last-Event-ID` (if any), then live ones. An unknown run gets "
                    "one `error` event (`404: Run not found`)."
                ),
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/cancel": {"post": _cancel_operation()},
    }


def _collection_operations() -> dict[str, dict[str, dict]]:
    """Listing a thread's runs and the stateless batch, bulk-cancel and reconnect routes."""
    list_params = [
        THREAD,
        _query("limit", {"type": "integer", "default": 10}, "Maximum number of runs to return."),
        _query("offset", {"type": "integer", "default": 0}, "Number of runs to skip."),
        _query("status", {"type": "string"}, "Only runs with this status."),
        _query("select", {"type": "array", "items": {"type": "string"}}, "Run fields to return."),
    ]
    return {
        "/threads/{thread_id}/runs": {
            "get": _operation(
                "Thread Runs",
                "list_runs_http_threads__thread_id__runs_get",
                "List Runs",
                params=list_params,
                ok=_json({"type": "array", "items": RUN_REF}),
            ),
        },
        "/runs/batch": {
            "post": _operation(
                "Stateless Runs",
                "run_batch_stateless_runs_post",
                "Create Run Batch",
                body={"type": "array", "minItems": 1, "items": STATELESS_REF},
                ok=_json({"type": "array", "items": RUN_REF}),
                errors=RUN_CREATE_ERRORS,
            ),
        },
        "/runs/cancel": {
            "post": _operation(
                "Stateless Runs",
                "cancel_runs_post",
                "Cancel Runs",
                body="RunsCancel",
                params=[CANCEL_ACTION],
                ok=NO_CONTENT,
                status=204,
            ),
        },
        "/runs/{run_id}/stream": {
            "get": _operation(
                "Stateless Runs",
                "stream_run_stateless_runs__run_id__stream_get",
                "Join Stateless Run Stream",
                params=[RUN, *_JOIN_STREAM_PARAMS],
                ok=_sse(
                    "Reconnect target of a stateless stream's `Location`: events after `Last-Event-ID`, then live ones."
                ),
            ),
        },
    }


def _cancel_operation() -> dict:
    operation = _operation(
        "Thread Runs",
        "cancel_run_http_threads__thread_id__runs__run_id__cancel_post",
        "Cancel Run",
        params=[
            THREAD,
            RUN,
            _query("wait", {"type": "boolean", "default": False}, "Block until cancelled; answer the run's result."),
            CANCEL_ACTION,
        ],
        ok=_json(RUN_RESULT, "With wait=1: the run's result, like /join"),
        errors=(404, 409, 422),
    )
    operation["responses"]["202"] = {"description": "Without wait: cancellation requested, empty body"}
    return operation


def _thread_and_system_operations() -> dict[str, dict[str, dict]]:
    ok_schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    health = _operation(
        "System",
        "health_check_ok_get",
        "Health Check",
        params=[
            _query("check_db", {"type": "integer", "enum": [0, 1], "default": 0}, "1 also checks the database."),
        ],
        ok=_json(ok_schema),
        errors=(),
    )
    health["responses"]["500"] = _json(ERROR_REF, "Unhealthy")
    root = {**health, "operationId": "health_check_root_get", "summary": "Health Check (root)"}
    return {
        "/threads/{thread_id}/stream": {
            "get": _operation(
                "Threads",
                "join_thread_stream_threads__thread_id__stream_get",
                "Join Thread Stream",
                params=[
                    THREAD,
                    LAST_EVENT_ID,
                    _query(
                        "stream_modes",
                        {**_one_or_many(THREAD_STREAM_MODES), "default": ["run_modes"]},
                        "`run_modes`: every run event plus `metadata` {status: run_done}; "
                        "`lifecycle`: run start/end only; `state_update`: state updates.",
                    ),
                ],
                ok=_sse(
                    "Events of every current and future run of the thread (always with ids); "
                    "stays open until the client leaves."
                ),
            ),
        },
        "/": {"get": root},
        "/ok": {"get": health},
        "/info": {
            "get": _operation(
                "System",
                "server_info_info_get",
                "Server Information",
                ok=_json(
                    {
                        "type": "object",
                        "properties": {
                            "version": {"type": "string"},
                            "langgraph_py_version": {"type": "string"},
                            "flags": {"type": "object", "additionalProperties": {"type": "boolean"}},
                            "host": {"type": "object"},
                        },
                    }
                ),
                errors=(),
            )
        },
        "/metrics": {
            "get": _operation(
                "System",
                "system_metrics_metrics_get",
                "Prometheus Metrics",
                errors=(),
                ok={
                    "description": "Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
            )
        },
    }


def extra_operations() -> dict[str, dict[str, dict]]:
    return {
        **_create_operations(stateful=True),
        **_create_operations(stateful=False),
        **_run_operations(),
        **_collection_operations(),
        **_thread_and_system_operations(),
    }


# --- components ---------------------------------------------------------------------------------------------------


def _run_create_schema(*, stateful: bool) -> dict:
    obj, strings = {"type": "object", "additionalProperties": True}, {"type": "array", "items": {"type": "string"}}
    nodes = {"anyOf": [{"type": "string", "enum": ["*"]}, strings]}
    properties: dict[str, dict] = {
        "assistant_id": {"type": "string", "description": "Assistant ID (UUID) or graph name."},
        "input": {"description": "The input to the graph.", "nullable": True},
        "command": {**obj, "description": "`{resume, update, goto}` for an interrupted thread.", "nullable": True},
        "metadata": {**obj, "description": "Metadata to assign to the run."},
        "config": {**obj, "description": "`{tags, recursion_limit, configurable}`."},
        "context": {**obj, "description": "Static context for the graph (not with config.configurable)."},
        "webhook": {"type": "string", "format": "uri", "description": "URL called with the run when it ends."},
        "stream_mode": {**_one_or_many(STREAM_MODES), "default": ["values"]},
        "stream_subgraphs": {"type": "boolean", "default": False},
        "stream_resumable": {"type": "boolean", "default": False, "description": "Keep events for Last-Event-ID."},
        "feedback_keys": strings,
        "on_disconnect": {"type": "string", "enum": ["cancel", "continue"], "default": "continue"},
        "after_seconds": {"type": "number", "description": "Delay before the run starts."},
        "durability": {"type": "string", "enum": ["sync", "async", "exit"], "default": "async"},
    }
    if stateful:
        properties |= {
            "checkpoint": {**obj, "description": "The checkpoint to resume from."},
            "checkpoint_id": {"type": "string", "description": "The checkpoint to resume from."},
            "interrupt_before": nodes,
            "interrupt_after": nodes,
            "multitask_strategy": {
                "type": "string",
                "enum": ["reject", "interrupt", "rollback", "enqueue"],
                "default": "enqueue",
                "description": "What to do if the thread is busy.",
            },
            "if_not_exists": {
                "type": "string",
                "enum": ["reject", "create"],
                "default": "reject",
                "description": "Create the thread if it does not exist.",
            },
        }
    else:
        properties["on_completion"] = {"type": "string", "enum": ["delete", "keep"], "default": "delete"}
    return {"type": "object", "required": ["assistant_id"], "properties": properties}


def _components() -> dict[str, dict]:
    statuses = ["pending", "running", "error", "success", "timeout", "interrupted"]
    return {
        "ErrorResponse": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
        "RunCreateStateful": _run_create_schema(stateful=True),
        "RunCreateStateless": _run_create_schema(stateful=False),
        "RunsCancel": {
            "type": "object",
            "description": "Either `thread_id` with optional `run_ids`, or `status` alone.",
            "properties": {
                "thread_id": {"type": "string", "format": "uuid"},
                "run_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "status": {"type": "string", "enum": ["pending", "running", "all"]},
            },
        },
        "Run": {
            "type": "object",
            "required": [
                "run_id",
                "thread_id",
                "assistant_id",
                "created_at",
                "updated_at",
                "status",
                "metadata",
                "kwargs",
                "multitask_strategy",
            ],
            "properties": {
                "run_id": {"type": "string", "format": "uuid"},
                "thread_id": {"type": "string", "format": "uuid"},
                "assistant_id": {"type": "string", "format": "uuid"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "status": {"type": "string", "enum": statuses},
                "metadata": {"type": "object", "additionalProperties": True},
                "kwargs": {"type": "object", "additionalProperties": True},
                "multitask_strategy": {"type": "string", "enum": ["reject", "interrupt", "rollback", "enqueue"]},
            },
        },
    }


# --- the hook -------------------------------------------------------------------------------------------------------


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


def postprocess_schema(result: dict, generator: Any, request: Any, public: bool, **kwargs: Any) -> dict:
    """Add the served routes drf-spectacular missed, the shared components and tags; check operationIds."""
    served = routed_paths()
    paths = result.setdefault("paths", {})
    for path, operations in extra_operations().items():
        if path in served:
            for method, operation in operations.items():
                current = paths.setdefault(path, {}).get(method)
                if current is None or _untyped(current):
                    paths[path][method] = operation
    result["paths"] = dict(sorted(paths.items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _components().items():
        schemas.setdefault(name, schema)
    result.setdefault("info", {})["description"] = DESCRIPTION
    result["tags"] = [{"name": name, "description": description} for name, description in TAGS]
    _check_operation_ids(result["paths"])
    return result


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
