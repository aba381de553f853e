"""Threads API (official Agent Server paths): each view validates, calls one service or selector as the caller
(`request.identity`), serializes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentplatform.api import pagination_headers, validated
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import drf_body, drf_json, drf_twin, graph_request, query_flag
from agentplatform.errors import InvalidInput
from agentplatform.ids import parse_uuid
from threads import selectors, services, storage
from threads.serializers import (
    HistorySerializer,
    StateCheckpointSerializer,
    StateUpdateResponseSerializer,
    StateUpdateSerializer,
    ThreadCountSerializer,
    ThreadCreateSerializer,
    ThreadPatchSerializer,
    ThreadPruneSerializer,
    ThreadResponseSerializer,
    ThreadSearchSerializer,
    ThreadStateResponseSerializer,
    thread_search_result,
    thread_to_dict,
)

TAGS = ["Threads"]
SUBGRAPHS = OpenApiParameter("subgraphs", OpenApiTypes.BOOL, description="Include subgraph states.")


def _validated(serializer_class: type[drf_serializers.Serializer], data: Any) -> dict[str, Any]:
    # A NUL (which Postgres jsonb refuses) never gets here: StrictInputMiddleware refuses it for every endpoint.
    return validated(serializer_class, data if data is not None else {})


def _thread_create(body: Any, **request: Any) -> dict[str, Any]:
    data = _validated(ThreadCreateSerializer, body)
    thread = services.thread_create(
        thread_id=data.get("thread_id") or None,
        metadata=data.get("metadata"),
        if_exists=data.get("if_exists") or "raise",
        ttl=data.get("ttl"),
        supersteps=data.get("supersteps"),
        **request,
    )
    return thread_to_dict(thread)


class ThreadCreateView(APIView):
    @extend_schema(tags=TAGS, request=ThreadCreateSerializer, responses=ThreadResponseSerializer)
    def post(self, request: Request) -> Response:
        return Response(_thread_create(request.data, **graph_request(request)))


@drf_twin(ThreadCreateView, "POST")
async def threads(request: HttpRequest) -> HttpResponse:
    """`POST /threads` from the event loop with one hop to a thread, as a run create (agentplatform.edge)."""
    return drf_json(await in_worker_thread(_thread_create)(drf_body(request), **graph_request(request)))


class ThreadSearchView(APIView):
    @extend_schema(tags=TAGS, request=ThreadSearchSerializer, responses=ThreadResponseSerializer(many=True))
    def post(self, request: Request) -> Response:
        data = _validated(ThreadSearchSerializer, request.data)
        limit, offset = data.get("limit") or 10, data.get("offset") or 0
        threads, has_more = selectors.thread_search(
            ids=[parse_uuid(i, "thread") for i in data.get("ids") or []],
            metadata=data.get("metadata"),
            values=data.get("values"),
            status=data.get("status"),
            limit=limit,
            offset=offset,
            sort_by=data.get("sort_by"),
            sort_order=data.get("sort_order"),
            user=request.identity,
        )
        body = [thread_search_result(t, select=data.get("select"), extract=data.get("extract")) for t in threads]
        return Response(body, headers=pagination_headers(offset=offset, returned=len(body), has_more=has_more))


class ThreadCountView(APIView):
    @extend_schema(tags=TAGS, request=ThreadCountSerializer, responses=OpenApiTypes.INT)
    def post(self, request: Request) -> Response:
        data = _validated(ThreadCountSerializer, request.data)
        filters = {name: data.get(name) for name in ("metadata", "values", "status")}
        return Response(selectors.thread_count(**filters, user=request.identity))


class ThreadPruneView(APIView):
    @extend_schema(tags=TAGS, request=ThreadPruneSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _validated(ThreadPruneSerializer, request.data)
        count = services.thread_prune(
            thread_ids=data["thread_ids"], strategy=data.get("strategy") or "delete", user=request.identity
        )
        return Response({"pruned_count": count})


class ThreadDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("include", str, description='Comma-separated extra fields: "ttl".')],
        responses=ThreadResponseSerializer,
    )
    def get(self, request: Request, thread_id: str) -> Response:
        include = {f.strip() for f in request.query_params.get("include", "").split(",")}
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        return Response(thread_to_dict(thread, include_ttl="ttl" in include))

    @extend_schema(tags=TAGS, request=ThreadPatchSerializer, responses={200: ThreadResponseSerializer, 204: None})
    def patch(self, request: Request, thread_id: str) -> Response:
        data = _validated(ThreadPatchSerializer, request.data)
        thread = services.thread_update(
            thread_id=thread_id, metadata=data.get("metadata"), ttl=data.get("ttl"), user=request.identity
        )
        if request.headers.get("Prefer") == "return=minimal":
            return Response(status=204)
        return Response(thread_to_dict(thread))

    @extend_schema(tags=TAGS, responses={204: None})
    def delete(self, request: Request, thread_id: str) -> Response:
        services.thread_delete(thread_id=thread_id, user=request.identity)
        return Response(status=204)


class ThreadCopyView(APIView):
    @extend_schema(tags=TAGS, request=None, responses=ThreadResponseSerializer)
    def post(self, request: Request, thread_id: str) -> Response:
        return Response(thread_to_dict(services.thread_copy(thread_id=thread_id, user=request.identity)))


class ThreadStorageView(APIView):
    @extend_schema(tags=TAGS, responses=OpenApiTypes.OBJECT, summary="Get Thread Storage")
    def get(self, request: Request, thread_id: str) -> Response:
        """Bytes the thread's checkpoints occupy, as stored: checkpoints, channel values per channel, pending writes."""
        return Response(storage.thread_storage(thread_id=thread_id, user=request.identity))


class ThreadStateView(APIView):
    @extend_schema(tags=TAGS, parameters=[SUBGRAPHS], responses=ThreadStateResponseSerializer)
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        subgraphs = query_flag(request, "subgraphs")
        return Response(selectors.thread_state_get(thread=thread, subgraphs=subgraphs, **graph_request(request)))

    @extend_schema(tags=TAGS, request=StateUpdateSerializer, responses=StateUpdateResponseSerializer)
    def post(self, request: Request, thread_id: str) -> Response:
        data = _validated(StateUpdateSerializer, request.data)
        checkpoint = dict(data.get("checkpoint") or {})
        if data.get("checkpoint_id"):
            checkpoint.setdefault("checkpoint_id", data["checkpoint_id"])
        result = services.thread_state_update(
            thread_id=thread_id,
            values=data.get("values"),
            as_node=data.get("as_node"),
            checkpoint=checkpoint,
            **graph_request(request),
        )
        return Response(result)


class ThreadStateAtCheckpointView(APIView):
    @extend_schema(
        tags=TAGS, parameters=[SUBGRAPHS], responses=ThreadStateResponseSerializer, operation_id="threads_state_at"
    )
    def get(self, request: Request, thread_id: str, checkpoint_id: str) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        subgraphs = query_flag(request, "subgraphs")
        checkpoint = {"checkpoint_id": checkpoint_id}
        state = selectors.thread_state_get(
            thread=thread, checkpoint=checkpoint, subgraphs=subgraphs, **graph_request(request)
        )
        return Response(state)


class ThreadStateCheckpointView(ThreadStateAtCheckpointView):
    """POST /state/checkpoint reads the checkpoint from the body; GET treats "checkpoint" as a checkpoint id."""

    @extend_schema(exclude=True)
    def get(self, request: Request, thread_id: str) -> Response:
        return super().get(request, thread_id, "checkpoint")

    @extend_schema(
        tags=TAGS,
        request=StateCheckpointSerializer,
        responses=ThreadStateResponseSerializer,
        operation_id="threads_state_checkpoint",
    )
    def post(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        data = _validated(StateCheckpointSerializer, request.data)
        state = selectors.thread_state_get(
            thread=thread, checkpoint=data["checkpoint"], subgraphs=data["subgraphs"], **graph_request(request)
        )
        return Response(state)


class ThreadHistoryView(APIView):
    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("limit", int, description="How many checkpoints (default 1)."),
            OpenApiParameter("before", str, description="Only checkpoints before this checkpoint id."),
        ],
        responses=ThreadStateResponseSerializer(many=True),
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        raw_limit = request.query_params.get("limit", "1")
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidInput(f"Invalid limit {raw_limit}") from None
        if limit < 1:
            return Response([])  # as the official server answers
        before = request.query_params.get("before") or None
        history = selectors.thread_history_list(thread=thread, limit=limit, before=before, **graph_request(request))
        return Response(history)

    @extend_schema(tags=TAGS, request=HistorySerializer, responses=ThreadStateResponseSerializer(many=True))
    def post(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, user=request.identity)
        data = _validated(HistorySerializer, request.data)
        history = selectors.thread_history_list(
            thread=thread,
            limit=data.get("limit") or 1,
            before=data.get("before"),
            metadata=data.get("metadata"),
            checkpoint=data.get("checkpoint"),
            **graph_request(request),
        )
        return Response(history)
