"""HTTP endpoints of /runs/crons and /threads/{thread_id}/runs/crons: validate, call one service, serialize."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentplatform.api import pagination_headers, validated
from agentplatform.errors import InvalidInput
from crons import selectors, services
from crons.serializers import (
    CronCountSerializer,
    CronCreateSerializer,
    CronPatchSerializer,
    CronSearchSerializer,
    CronSerializer,
)

TAGS = ["Crons"]


def _body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("Request body must be a JSON object")
    return dict(request.data)


def _create(request: Request, thread_id: str | None) -> Response:
    body = _body(request)
    fields = validated(CronCreateSerializer, body)
    fields.pop("multitask_strategy", None)
    given = {k: v for k, v in fields.items() if v is not None}
    cron = services.cron_create(body=body, thread_id=thread_id, **given, user=request.identity)
    return Response(CronSerializer(cron).data)


class CronCreateView(APIView):
    @extend_schema(tags=TAGS, request=CronCreateSerializer, responses=CronSerializer)
    def post(self, request: Request) -> Response:
        return _create(request, thread_id=None)


class ThreadCronCreateView(APIView):
    @extend_schema(tags=TAGS, request=CronCreateSerializer, responses=CronSerializer)
    def post(self, request: Request, thread_id: str) -> Response:
        return _create(request, thread_id=thread_id)


class CronDetailView(APIView):
    @extend_schema(tags=TAGS, responses=CronSerializer)
    def get(self, request: Request, cron_id: str) -> Response:
        return Response(CronSerializer(selectors.cron_get(cron_id=cron_id, user=request.identity)).data)

    @extend_schema(tags=TAGS, request=CronPatchSerializer, responses=CronSerializer)
    def patch(self, request: Request, cron_id: str) -> Response:
        body = _body(request)
        fields = validated(CronPatchSerializer, body)
        return Response(
            CronSerializer(services.cron_update(cron_id=cron_id, body=body, fields=fields, user=request.identity)).data
        )

    @extend_schema(tags=TAGS, responses={204: None})
    def delete(self, request: Request, cron_id: str) -> Response:
        services.cron_delete(cron_id=cron_id, user=request.identity)
        return Response(status=204)


class CronSearchView(APIView):
    @extend_schema(tags=TAGS, request=CronSearchSerializer, responses=CronSerializer(many=True))
    def post(self, request: Request) -> Response:
        params = validated(CronSearchSerializer, request.data)
        select = params.pop("select", None)
        crons, has_more = selectors.cron_search(**params, user=request.identity)
        headers = pagination_headers(offset=params["offset"], returned=len(crons), has_more=has_more)
        return Response(CronSerializer(crons, many=True, select=select).data, headers=headers)


class CronCountView(APIView):
    @extend_schema(tags=TAGS, request=CronCountSerializer, responses=OpenApiTypes.INT)
    def post(self, request: Request) -> Response:
        return Response(selectors.cron_count(**validated(CronCountSerializer, request.data), user=request.identity))
