"""HTTP endpoints of /assistants: validate, call one service or selector as the caller (`request.identity`),
serialize."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentplatform.api import pagination_headers, validated
from agentplatform.edge import graph_request, query_flag
from agentplatform.graphs import get_registry
from assistants import graph_info, selectors, services
from assistants.serializers import (
    AssistantCountSerializer,
    AssistantCreateSerializer,
    AssistantPatchSerializer,
    AssistantSearchSerializer,
    AssistantSerializer,
    AssistantVersionChangeSerializer,
    AssistantVersionSerializer,
    AssistantVersionsSearchSerializer,
)

TAGS = ["Assistants"]


class AssistantCreateView(APIView):
    @extend_schema(tags=TAGS, request=AssistantCreateSerializer, responses=AssistantSerializer)
    def post(self, request: Request) -> Response:
        assistant = services.assistant_create(
            **validated(AssistantCreateSerializer, request.data), user=request.identity
        )
        return Response(AssistantSerializer(assistant).data)


class AssistantSearchView(APIView):
    @extend_schema(tags=TAGS, request=AssistantSearchSerializer, responses=AssistantSerializer(many=True))
    def post(self, request: Request) -> Response:
        params = validated(AssistantSearchSerializer, request.data)
        select = params.pop("select", None)
        assistants, has_more = selectors.assistant_search(**params, user=request.identity)
        headers = pagination_headers(offset=params["offset"], returned=len(assistants), has_more=has_more)
        return Response(AssistantSerializer(assistants, many=True, select=select).data, headers=headers)


class AssistantCountView(APIView):
    @extend_schema(tags=TAGS, request=AssistantCountSerializer, responses=OpenApiTypes.INT)
    def post(self, request: Request) -> Response:
        return Response(
            selectors.assistant_count(**validated(AssistantCountSerializer, request.data), user=request.identity)
        )


class AssistantDetailView(APIView):
    @extend_schema(tags=TAGS, responses=AssistantSerializer)
    def get(self, request: Request, assistant_id: str) -> Response:
        return Response(
            AssistantSerializer(selectors.assistant_get(assistant_id=assistant_id, user=request.identity)).data
        )

    @extend_schema(tags=TAGS, request=AssistantPatchSerializer, responses=AssistantSerializer)
    def patch(self, request: Request, assistant_id: str) -> Response:
        params = validated(AssistantPatchSerializer, request.data)
        assistant = services.assistant_update(assistant_id=assistant_id, **params, user=request.identity)
        return Response(AssistantSerializer(assistant).data)

    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("delete_threads", bool, description="Also delete the assistant's threads.")],
        responses={204: None},
    )
    def delete(self, request: Request, assistant_id: str) -> Response:
        delete_threads = query_flag(request, "delete_threads")
        services.assistant_delete(assistant_id=assistant_id, delete_threads=delete_threads, user=request.identity)
        return Response(status=204)


class AssistantGraphView(APIView):
    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("xray", str, description="true, false or a positive subgraph depth.")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, assistant_id: str) -> Response:
        # Unlike the other assistant endpoints, /graph also takes a graph name (its system assistant).
        if get_registry().has(assistant_id):
            assistant = services.assistant_resolve(assistant_id=assistant_id, user=request.identity)
        else:
            assistant = selectors.assistant_get(assistant_id=assistant_id, user=request.identity)
        xray = graph_info.parse_xray(request.query_params.get("xray"))
        return Response(graph_info.assistant_drawable_graph(assistant=assistant, xray=xray, **graph_request(request)))


class AssistantSchemasView(APIView):
    @extend_schema(tags=TAGS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, assistant_id: str) -> Response:
        assistant = selectors.assistant_get(assistant_id=assistant_id, user=request.identity)
        return Response(graph_info.assistant_schemas(assistant=assistant, **graph_request(request)))


class AssistantSubgraphsView(APIView):
    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("recurse", bool, description="Include subgraphs of subgraphs.")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, assistant_id: str, namespace: str | None = None) -> Response:
        assistant = selectors.assistant_get(assistant_id=assistant_id, user=request.identity)
        recurse = query_flag(request, "recurse")
        subgraphs = graph_info.assistant_subgraphs(
            assistant=assistant, namespace=namespace, recurse=recurse, **graph_request(request)
        )
        return Response(subgraphs)


class AssistantVersionsView(APIView):
    @extend_schema(
        tags=TAGS, request=AssistantVersionsSearchSerializer, responses=AssistantVersionSerializer(many=True)
    )
    def post(self, request: Request, assistant_id: str) -> Response:
        params = validated(AssistantVersionsSearchSerializer, request.data)
        versions = selectors.assistant_version_list(assistant_id=assistant_id, **params, user=request.identity)
        return Response(AssistantVersionSerializer(versions, many=True).data)


class AssistantLatestView(APIView):
    @extend_schema(tags=TAGS, request=AssistantVersionChangeSerializer, responses=AssistantSerializer)
    def post(self, request: Request, assistant_id: str) -> Response:
        version = validated(AssistantVersionChangeSerializer, request.data)["version"]
        assistant = services.assistant_set_latest(assistant_id=assistant_id, version=version, user=request.identity)
        return Response(AssistantSerializer(assistant).data)
