"""The runs part of /openapi.json: the run routes drf-spectacular cannot see (async and streaming views) and the
run components. The run-create bodies come from the run contract (runs.payload), so the schema, the parser and its
422s cannot drift apart.

`postprocess_schema` is a drf-spectacular hook, listed in SPECTACULAR_SETTINGS before the generic one.
"""

from __future__ import annotations

import copy
from typing import Any

from agentplatform.openapi import (
    NO_CONTENT,
    Operations,
    add_operations,
    json_response,
    operation,
    path_param,
    query_param,
    sse_response,
)
from runs.api.thread_stream_openapi import thread_stream_operations
from runs.models import Run
from runs.payload import (
    Body,
    MultitaskStrategy,
    StreamMode,
    one_or_many,
    run_create_schema,
    run_create_streaming_schema,
)
from runs.serializers import RUN_FIELDS
from runs.services import CANCEL_ACTIONS
from runs.streams.stream_reader import THREAD_STREAM_MODES

RUN_RESULT = {
    "type": "object",
    "additionalProperties": True,
    "description": "The final state values; `__interrupt__` when the run paused, `__error__` {error, message} when "
    "it failed (still HTTP 200). Leading newlines may precede the JSON while the run is in progress.",
}
RUN_REF = {"$ref": "#/components/schemas/Run"}
THREAD, RUN = path_param("thread_id"), path_param("run_id")
RUN_CREATE_ERRORS = (400, 404, 409, 422)
LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "description": "Resume after this event id; `-` replays every buffered event. Without it only live events.",
    "schema": {"type": "string"},
}
CANCEL_ON_DISCONNECT = query_param(
    "cancel_on_disconnect", {"type": "boolean", "default": False}, "Cancel the run if the client disconnects."
)
_JOIN_STREAM_PARAMS = [
    LAST_EVENT_ID,
    query_param(
        "stream_mode",
        one_or_many([mode.value for mode in StreamMode]),
        "Only events of these modes (repeat, or a JSON array).",
    ),
    CANCEL_ON_DISCONNECT,
]
CANCEL_ACTION = query_param(
    "action",
    {"type": "string", "enum": list(CANCEL_ACTIONS), "default": CANCEL_ACTIONS[0]},
    "`interrupt` stops the run; `rollback` also deletes it and its checkpoints.",
)


def _streaming(body: Body) -> str:
    """The component of the body /wait and /stream take (official names)."""
    return body.value.replace("RunCreate", "RunCreateStreaming")


def _create_operations(body: Body) -> Operations:
    """POST runs, runs/wait and runs/stream, on a thread or stateless: one body (plus on_disconnect for the two
    that hold the connection), three ways to answer."""
    if body is Body.STATEFUL:
        prefix, tag, params = "/threads/{thread_id}/runs", "Thread Runs", [THREAD]
        ids = (
            "create_run_threads__thread_id__runs_post",
            "wait_run_threads__thread_id__runs_wait_post",
            "stream_run_threads__thread_id__runs_stream_post",
        )
    else:
        prefix, tag, params = "/runs", "Stateless Runs", []
        ids = ("run_stateless_runs_post", "wait_run_stateless_runs_wait_post", "stream_run_stateless_runs_stream_post")
    variants = [
        ("", "Create Background Run", body.value, json_response(RUN_REF, "The run, still pending")),
        ("/wait", "Create Run, Wait for Output", _streaming(body), json_response(RUN_RESULT)),
        (
            "/stream",
            "Create Run, Stream Output",
            _streaming(body),
            sse_response("The run's events; the stream closes when the run ends."),
        ),
    ]
    return {
        prefix + suffix: {
            "post": operation(
                tag, operation_id, summary, params=params, body=component, ok=ok, errors=RUN_CREATE_ERRORS
            )
        }
        for (suffix, summary, component, ok), operation_id in zip(variants, ids, strict=True)
    }


def _run_operations() -> Operations:
    """Operations on one run of a thread."""
    params = [THREAD, RUN]
    return {
        "/threads/{thread_id}/runs/{run_id}": {
            "get": operation(
                "Thread Runs",
                "get_run_http_threads__thread_id__runs__run_id__get",
                "Get Run",
                params=params,
                ok=json_response(RUN_REF),
            ),
            "delete": operation(
                "Thread Runs",
                "delete_run_threads__thread_id__runs__run_id__delete",
                "Delete Run",
                params=params,
                ok=NO_CONTENT,
                status=204,
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/join": {
            "get": operation(
                "Thread Runs",
                "join_run_http_threads__thread_id__runs__run_id__join_get",
                "Join Run",
                params=[*params, CANCEL_ON_DISCONNECT],
                ok=json_response(RUN_RESULT),
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/stream": {
            "get": operation(
                "Thread Runs",
                "stream_run_http_threads__thread_id__runs__run_id__join_get",
                "Join Run Stream",
                params=[*params, *_JOIN_STREAM_PARAMS],
                ok=sse_response(
                    "Events after `Last-Event-ID` (if any), then live ones. An unknown run gets "
                    "one `error` event (`404: Run not found`)."
                ),
            ),
        },
        "/threads/{thread_id}/runs/{run_id}/cancel": {"post": _cancel_operation()},
    }


def _collection_operations() -> Operations:
    """Listing a thread's runs and the stateless batch, bulk-cancel and reconnect routes."""
    list_params = [
        THREAD,
        query_param("limit", {"type": "integer", "default": 10}, "Maximum number of runs to return."),
        query_param("offset", {"type": "integer", "default": 0}, "Number of runs to skip."),
        query_param("status", {"type": "string"}, "Only runs with this status."),
        query_param("select", {"type": "array", "items": {"type": "string"}}, "Run fields to return."),
    ]
    return {
        "/threads/{thread_id}/runs": {
            "get": operation(
                "Thread Runs",
                "list_runs_http_threads__thread_id__runs_get",
                "List Runs",
                params=list_params,
                ok=json_response({"type": "array", "items": RUN_REF}),
            ),
        },
        "/runs/batch": {
            "post": operation(
                "Stateless Runs",
                "run_batch_stateless_runs_post",
                "Create Run Batch",
                body={"type": "array", "minItems": 1, "items": {"$ref": f"#/components/schemas/{Body.STATELESS}"}},
                ok=json_response({"type": "array", "items": RUN_REF}),
                errors=RUN_CREATE_ERRORS,
            ),
        },
        "/runs/cancel": {
            "post": operation(
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
            "get": operation(
                "Stateless Runs",
                "stream_run_stateless_runs__run_id__stream_get",
                "Join Stateless Run Stream",
                params=[RUN, *_JOIN_STREAM_PARAMS],
                ok=sse_response(
                    "Reconnect target of a stateless stream's `Location`: events after `Last-Event-ID`, then live ones."
                ),
            ),
        },
    }


def _cancel_operation() -> dict:
    cancel = operation(
        "Thread Runs",
        "cancel_run_http_threads__thread_id__runs__run_id__cancel_post",
        "Cancel Run",
        params=[
            THREAD,
            RUN,
            query_param(
                "wait", {"type": "boolean", "default": False}, "Block until cancelled; answer the run's result."
            ),
            CANCEL_ACTION,
        ],
        ok=json_response(RUN_RESULT, "With wait=1: the run's result, like /join"),
        errors=(404, 409, 422),
    )
    cancel["responses"]["202"] = {"description": "Without wait: cancellation requested, empty body"}
    return cancel


def _thread_stream_operations() -> Operations:
    modes = {**one_or_many(list(THREAD_STREAM_MODES)), "default": ["run_modes"]}
    return {
        "/threads/{thread_id}/stream": {
            "get": operation(
                "Threads",
                "join_thread_stream_threads__thread_id__stream_get",
                "Join Thread Stream",
                params=[
                    THREAD,
                    LAST_EVENT_ID,
                    query_param(
                        "stream_modes",
                        modes,
                        "`run_modes`: every run event plus `metadata` {status: run_done}; "
                        "`lifecycle`: run start/end only; `state_update`: state updates.",
                    ),
                ],
                ok=sse_response(
                    "Events of every current and future run of the thread (always with ids); "
                    "stays open until the client leaves."
                ),
            ),
        },
    }


def _run_schema() -> dict:
    """The Run JSON (runs.serializers.run_json), field for field."""
    uuid, date_time = {"type": "string", "format": "uuid"}, {"type": "string", "format": "date-time"}
    types = {
        "run_id": uuid,
        "thread_id": uuid,
        "assistant_id": uuid,
        "created_at": date_time,
        "updated_at": date_time,
        "status": {"type": "string", "enum": list(Run.Status.values)},
        "metadata": {"type": "object", "additionalProperties": True},
        "kwargs": {"type": "object", "additionalProperties": True},
        "multitask_strategy": {"type": "string", "enum": [strategy.value for strategy in MultitaskStrategy]},
        "langsmith_session_name": {"type": "string", "nullable": True},
    }
    return {
        "type": "object",
        "required": [name for name in RUN_FIELDS if name != "langsmith_session_name"],
        "properties": {name: copy.deepcopy(types[name]) for name in RUN_FIELDS},
    }


def _components() -> dict[str, dict]:
    return {
        **{body.value: run_create_schema(body) for body in Body},
        **{_streaming(body): run_create_streaming_schema(body) for body in Body},
        "RunsCancel": {
            "type": "object",
            "description": "Either `thread_id` with optional `run_ids`, or `status` alone.",
            "properties": {
                "thread_id": {"type": "string", "format": "uuid"},
                "run_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "status": {"type": "string", "enum": ["pending", "running", "all"]},
            },
        },
        "Run": _run_schema(),
    }


def _merged(*groups: Operations) -> Operations:
    """One table of operations; a path in several groups keeps every group's methods."""
    merged: Operations = {}
    for group in groups:
        for path, methods in group.items():
            merged.setdefault(path, {}).update(methods)
    return merged


def postprocess_schema(result: dict, generator: Any, request: Any, public: bool, **kwargs: Any) -> dict:
    protocol_operations, protocol_components = thread_stream_operations()
    operations = _merged(
        _create_operations(Body.STATEFUL),
        _create_operations(Body.STATELESS),
        _run_operations(),
        _collection_operations(),
        _thread_stream_operations(),
        protocol_operations,
    )
    return add_operations(result, operations, {**_components(), **protocol_components})
