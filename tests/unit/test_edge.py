"""agentplatform.edge and agentplatform.api_errors: what every async endpoint answers, whatever its route."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django import db
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from access.users import ANONYMOUS
from agentplatform.api_errors import error_response, exception_handler
from agentplatform.edge import async_endpoint, json_body, query_flag
from agentplatform.errors import Conflict, InvalidInput, NotFound
from agentplatform.identity import http_identity_sync, websocket_identity
from agentplatform.middleware import IdentityMiddleware


def _call(view, method: str = "POST", body: bytes = b"{}"):
    request = RequestFactory().generic(method, "/x", data=body, content_type="application/json")
    return async_to_sync(view)(request)


@async_endpoint("POST")
async def _echo(request) -> HttpResponse:
    return HttpResponse(json.dumps(json_body(request)), content_type="application/json")


def _raising(exc: Exception):
    @async_endpoint("GET")
    async def view(request) -> HttpResponse:
        raise exc

    return view


def test_wrong_method_answers_the_official_405_with_allow_header():
    response = _call(_echo, "GET")

    assert response.status_code == 405
    assert json.loads(response.content) == {"detail": "Method Not Allowed"}
    assert response["Allow"] == "POST"


class _OnlyGet(APIView):
    def get(self, request) -> Response:
        return Response({})


def test_drf_views_answer_the_same_405():
    response = _OnlyGet.as_view()(RequestFactory().put("/x"))
    response.render()

    assert (response.status_code, json.loads(response.content)) == (405, {"detail": "Method Not Allowed"})
    assert "GET" in response["Allow"]


def test_allow_header_lists_every_served_method():
    response = _call(async_endpoint("GET", "HEAD")(_echo), "DELETE")

    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")


@pytest.mark.parametrize(
    ("exc", "status", "detail"),
    [
        (NotFound("Thread not found"), 404, "Thread not found"),
        (Conflict("Thread is busy"), 409, "Thread is busy"),
        (ValidationError("bad value"), 422, "bad value"),
        (Http404(), 404, "Not Found"),
        (drf_exceptions.MethodNotAllowed("PUT"), 405, "Method Not Allowed"),
    ],
)
def test_errors_read_the_same_from_async_endpoints_and_drf_views(exc, status, detail):
    response = _call(_raising(exc), "GET")
    drf_response = exception_handler(exc, {})

    assert (response.status_code, json.loads(response.content)) == (status, {"detail": detail})
    assert (drf_response.status_code, drf_response.data) == (status, {"detail": detail})


def test_unexpected_errors_are_left_to_django():
    assert error_response(RuntimeError("boom")) is None
    with pytest.raises(RuntimeError):
        _call(_raising(RuntimeError("boom")), "GET")


def test_json_body_returns_the_object():
    assert json.loads(_call(_echo, body=b'{"assistant_id": "a"}').content) == {"assistant_id": "a"}


@pytest.mark.parametrize("body", [b"", b"[]", b'"text"', b"null"])
def test_json_body_must_be_an_object(body):
    request = RequestFactory().post("/x", data=body, content_type="application/json")

    with pytest.raises(InvalidInput, match="Request body must be a JSON object"):
        json_body(request)


def test_json_body_applies_the_strict_rules():
    request = RequestFactory().post("/x", data=b'{"x": NaN}', content_type="application/json")

    with pytest.raises(InvalidInput, match="NaN is not a JSON number"):
        json_body(request)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("True", True), ("yes", True)])
def test_query_flag_is_true_for_official_true_values(value, expected):
    assert query_flag(RequestFactory().get("/x", {"wait": value}), "wait") is expected


@pytest.mark.parametrize("query", [{}, {"wait": ""}, {"wait": "0"}, {"wait": "false"}, {"wait": "no"}])
def test_query_flag_is_false_otherwise(query):
    assert query_flag(RequestFactory().get("/x", query), "wait") is False


def test_every_api_request_gets_an_identity_before_its_view():
    seen = []
    middleware = IdentityMiddleware(lambda request: seen.append(request.identity) or HttpResponse())

    middleware(RequestFactory().get("/threads"))

    assert seen == [ANONYMOUS]


def test_callers_are_anonymous_when_no_auth_is_configured():
    request = RequestFactory().get("/threads", headers={"Authorization": "Bearer x"})
    scope = {"type": "websocket", "path": "/ws", "headers": [(b"authorization", b"Bearer x")]}

    assert http_identity_sync(request) == async_to_sync(websocket_identity)(scope) == ANONYMOUS
    assert ANONYMOUS.is_authenticated is False


@pytest.mark.parametrize("exc", [db.OperationalError("couldn't get a connection after 30.00 sec"), db.InterfaceError()])
def test_an_unreachable_database_is_a_503_with_a_detail_not_a_500(exc):
    """A pool timeout while Postgres restarts (seen in tests/reliability/test_postgres_restart.py) is transient."""
    response = error_response(exc)
    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": "Database unavailable, retry later"}
    assert exception_handler(exc, {}).status_code == 503
