"""HTTP endpoints of /store: validate, call one service or selector, serialize."""

from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from langgraph.store.base import NOT_PROVIDED
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentplatform.api import validated
from agentplatform.edge import query_flag
from store import selectors, services
from store.serializers import (
    StoreDeleteSerializer,
    StoreNamespacesSerializer,
    StorePutSerializer,
    StoreSearchSerializer,
    item_json,
)

TAGS = ["Store"]


class StoreItemView(APIView):
    @extend_schema(tags=TAGS, request=StorePutSerializer, responses={204: None})
    def put(self, request: Request) -> Response:
        params = validated(StorePutSerializer, request.data)
        params.setdefault("ttl", NOT_PROVIDED)  # absent: store.ttl.default_ttl applies
        services.store_item_put(**params, user=request.identity)
        return Response(status=204)

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("namespace", str, description="Dot-joined namespace, e.g. users.u1"),
            OpenApiParameter("key", str, required=True),
            OpenApiParameter("refresh_ttl", bool),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        namespace = request.query_params.get("namespace", "").split(".")
        key = request.query_params.get("key")
        if not key:
            # The official server answers this one case with an "error" key, not "detail".
            return Response({"error": "Key is required"}, status=400)
        refresh_ttl = query_flag(request, "refresh_ttl", default=None)
        item = selectors.store_item_get(namespace=namespace, key=key, refresh_ttl=refresh_ttl, user=request.identity)
        if item is None:
            return JsonResponse(None, safe=False)  # a JSON null body, which DRF's Response would leave empty
        return Response(item_json(item))

    @extend_schema(tags=TAGS, request=StoreDeleteSerializer, responses={204: None})
    def delete(self, request: Request) -> Response:
        services.store_item_delete(**validated(StoreDeleteSerializer, request.data), user=request.identity)
        return Response(status=204)


class StoreSearchView(APIView):
    @extend_schema(tags=TAGS, request=StoreSearchSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        items = selectors.store_item_search(**validated(StoreSearchSerializer, request.data), user=request.identity)
        return Response({"items": [item_json(item) for item in items]})


class StoreNamespacesView(APIView):
    @extend_schema(tags=TAGS, request=StoreNamespacesSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        namespaces = selectors.store_namespace_list(
            **validated(StoreNamespacesSerializer, request.data), user=request.identity
        )
        return Response({"namespaces": namespaces})
