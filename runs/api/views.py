"""Runs API (api-surface §1.3). The streaming endpoints live in runs/api/stream_urls.py.

JSON CRUD views are DRF views; the blocking ones (/wait, /join, cancel?wait=1) are async Django views that
create or cancel through the same services, then stream newline keep-alives until the result is ready.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.users import AuthUser
from agentplatform import serde
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import (
    async_endpoint,
    drf_body,
    drf_json,
    drf_twin,
    json_body,
    on_disconnect,
    query_flag,
    run_headers,
)
from agentplatform.errors import InvalidInput
from agentplatform.ids import parse_uuid
from runs import selectors, services
from runs.models import Run
from runs.serializers import run_json, run_select_validate
from runs.streams import waiting

THREAD_RUNS = ["Thread Runs"]
STATELESS_RUNS = ["Stateless Runs"]


def _run_path(run: Run, *, stateless: bool = False) -> str:
    return f"/runs/{run.run_id}" if stateless else f"/threads/{run.thread_id}/runs/{run.run_id}"


def _int_param(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None


class ThreadRunsView(APIView):
    @extend_schema(tags=THREAD_RUNS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, thread_id: str) -> Response:
        select = run_select_validate(request.query_params.getlist("select"))
        runs = selectors.run_list(
            thread_id=thread_id,
            limit=_int_param(request, "limit", 10),
            offset=_int_param(request, "offset", 0),
            status=request.query_params.get("status") or None,
            user=request.identity,
        )
        return Response([run_json(run, select) for run in runs])

    @extend_schema(tags=THREAD_RUNS, request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, thread_id: str) -> Response:
        run = services.run_create(
            thread_id=thread_id, payload=request.data, user=request.identity, headers=run_headers(request)
        )
        return Response(run_json(run), headers={"Content-Location": _run_path(run)})


class StatelessRunsView(APIView):
    @extend_schema(tags=STATELESS_RUNS, request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        run = services.run_create(
            thread_id=None, payload=request.data, stateless=True, user=request.identity, headers=run_headers(request)
        )
        return Response(run_json(run), headers={"Content-Location": _run_path(run, stateless=True)})


async def _create(request: HttpRequest, thread_id: str | None) -> HttpResponse:
    """The POST of the views above, served from the event loop with one hop to a thread (agentplatform.edge)."""
    create = in_worker_thread(services.run_create)
    run = await create(
        thread_id=thread_id,
        payload=drf_body(request),
        stateless=thread_id is None,
        user=request.identity,
        headers=run_headers(request),
    )
    return drf_json(run_json(run), headers={"Content-Location": _run_path(run, stateless=thread_id is None)})


@drf_twin(ThreadRunsView, "POST")
async def thread_runs(request: HttpRequest, thread_id: str) -> HttpResponse:
    return await _create(request, thread_id)


@drf_twin(StatelessRunsView, "POST")
async def stateless_runs(request: HttpRequest) -> HttpResponse:
    return await _create(request, None)


class RunBatchView(APIView):
    @extend_schema(tags=STATELESS_RUNS, request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, list) or not request.data:
            raise InvalidInput("Request body must be a non-empty array of runs")
        runs = services.run_create_batch(payloads=request.data, user=request.identity, headers=run_headers(request))
        return Response([run_json(run) for run in runs])


class RunDetailView(APIView):
    @extend_schema(tags=THREAD_RUNS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, thread_id: str, run_id: str) -> Response:
        return Response(run_json(selectors.run_get(thread_id=thread_id, run_id=run_id, user=request.identity)))

    @extend_schema(tags=THREAD_RUNS, responses={204: None})
    def delete(self, request: Request, thread_id: str, run_id: str) -> Response:
        services.run_delete(thread_id=thread_id, run_id=run_id, user=request.identity)
        return Response(status=204)


class RunCancelManyView(APIView):
    @extend_schema(tags=STATELESS_RUNS, request=OpenApiTypes.OBJECT, responses={204: None})
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        status = body.get("status")
        if status is not None and (body.get("thread_id") or body.get("run_ids")):
            raise InvalidInput(
                "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. The 'status' parameter "
                "cancels all runs with the given status, regardless of thread or run ID."
            )
        services.run_cancel(
            thread_id=body.get("thread_id"),
            run_ids=body.get("run_ids"),
            status=status.lower() if isinstance(status, str) else status,
            action=request.query_params.get("action", "interrupt"),
            user=request.identity,
        )
        return Response(status=204)


async def _result_response(
    run_id: uuid.UUID, headers: dict, *, cancel_thread: uuid.UUID | None = None, user: AuthUser | None = None
) -> HttpResponse:
    """The run's result once it ends; with `cancel_thread`, a client that leaves first interrupts the run."""
    on_abandon = None
    if cancel_thread is not None:
        on_abandon = on_disconnect(services.run_cancel_quietly, thread_id=cancel_thread, run_id=run_id, user=user)
    waiter, done = await waiting.first_wait(run_id, on_abandon=on_abandon)
    if done:
        response = HttpResponse(serde.dumps(waiter.result()), content_type="application/json")
    else:
        body = waiting.result_body(waiter, on_abandon=on_abandon)
        response = StreamingHttpResponse(body, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


async def _create_and_wait(request: HttpRequest, thread_id: str | None) -> HttpResponse:
    payload = json_body(request)
    user = request.identity
    create = in_worker_thread(services.run_create)
    run = await create(thread_id=thread_id, payload=payload, user=user, headers=run_headers(request), streaming=True)
    headers = {"Location": f"{_run_path(run)}/join", "Content-Location": _run_path(run, stateless=thread_id is None)}
    cancel = payload.get("on_disconnect") == "cancel"
    return await _result_response(run.run_id, headers, cancel_thread=run.thread_id if cancel else None, user=user)


@async_endpoint("POST")
async def thread_run_wait(request: HttpRequest, thread_id: str) -> HttpResponse:
    return await _create_and_wait(request, thread_id)


@async_endpoint("POST")
async def stateless_run_wait(request: HttpRequest) -> HttpResponse:
    return await _create_and_wait(request, None)


@async_endpoint("GET")
async def run_join(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    user = request.identity
    if not await in_worker_thread(selectors.run_exists)(thread_id=thread_pk, run_id=run_pk, user=user):
        # The official server answers an unknown run with a 200 error body, which the SDK raises.
        return JsonResponse(waiting.RUN_NOT_FOUND_RESULT)
    cancel = query_flag(request, "cancel_on_disconnect")
    return await _result_response(run_pk, {}, cancel_thread=thread_pk if cancel else None, user=user)


@async_endpoint("POST")
async def run_cancel(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    thread_pk, run_pk = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    action = request.GET.get("action", "interrupt")
    cancel = in_worker_thread(services.run_cancel)
    await cancel(thread_id=thread_pk, run_ids=[run_pk], action=action, user=request.identity)
    if not query_flag(request, "wait"):
        return HttpResponse(status=202)
    return await _result_response(run_pk, {})
