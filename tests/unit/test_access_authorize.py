"""access.authorization: the @auth.on handler sees the official AuthContext and value; its answer allows, denies,
filters or mutates, and a broken handler fails closed."""

from __future__ import annotations

import asyncio
import sys

import pytest
from langgraph_sdk import Auth

from access.authorization import authorize, authorize_sync, store_namespace
from access.custom_auth import get_custom_auth
from access.errors import AccessError, PermissionDenied
from access.users import AuthUser
from agentplatform.errors import InvalidInput

ALICE = AuthUser({"identity": "alice"}, permissions=["threads:write"])
AUTHENTICATE = """
@auth.authenticate
async def authenticate(authorization):
    return "alice"
"""


@pytest.fixture
def handlers(use_auth):
    """handlers(source): an auth.py with an authenticate handler and these @auth.on handlers."""
    return lambda source: use_auth(AUTHENTICATE + source)


def _authorize(resource="threads", action="read", value=None, user=ALICE):
    return asyncio.run(authorize(resource=resource, action=action, value={} if value is None else value, user=user))


def test_handler_sees_user_permissions_resource_action_and_value(handlers):
    handlers("""
SEEN = []

@auth.on
async def everything(ctx: Auth.types.AuthContext, value):
    SEEN.append((ctx, value))
""")
    _authorize("threads", "create_run", {"thread_id": "t"})
    [(ctx, value)] = sys.modules[get_custom_auth().auth._global_handlers[0].__module__].SEEN

    assert isinstance(ctx, Auth.types.AuthContext)
    assert (ctx.user.identity, ctx.permissions, ctx.resource, ctx.action) == (
        "alice",
        ["threads:write"],
        "threads",
        "create_run",
    )
    assert value == {"thread_id": "t"}


@pytest.mark.parametrize("answer", ["None", "True"])
def test_none_or_true_allows_without_a_filter(handlers, answer):
    handlers(f"@auth.on\nasync def allow(ctx, value):\n    return {answer}\n")

    assert _authorize() is None


def test_false_is_the_official_403_forbidden(handlers):
    handlers("@auth.on\nasync def deny(ctx, value):\n    return False\n")
    with pytest.raises(PermissionDenied) as refused:
        _authorize()

    assert (refused.value.status_code, refused.value.detail) == (403, "Forbidden")


def test_dict_becomes_a_filter_and_the_handler_may_stamp_the_value(handlers):
    handlers("""
@auth.on.threads.create
async def stamp(ctx, value):
    value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}
""")
    value = {"metadata": {"topic": "x"}}
    filter_ = _authorize("threads", "create", value)

    assert value == {"metadata": {"topic": "x", "owner": "alice"}}
    assert filter_.raw == {"owner": "alice"} and filter_.matches(value["metadata"])


def test_empty_dict_is_no_restriction(handlers):
    handlers("@auth.on\nasync def nothing(ctx, value):\n    return {}\n")

    assert _authorize() is None


def test_most_specific_handler_decides(handlers):
    handlers("""
@auth.on
async def deny(ctx, value):
    return False

@auth.on.threads.read
async def allow_reads(ctx, value):
    return True
""")
    assert _authorize("threads", "read") is None
    with pytest.raises(PermissionDenied):
        _authorize("threads", "delete")


def test_an_action_without_a_handler_falls_through_as_officially(handlers):
    handlers("@auth.on.threads\nasync def deny(ctx, value):\n    return False\n")

    assert _authorize("assistants", "read") is None


def test_no_user_is_the_server_itself_and_skips_handlers(handlers):
    handlers("@auth.on\nasync def deny(ctx, value):\n    return False\n")

    assert _authorize(user=None) is None


def test_without_custom_auth_nothing_is_restricted():
    assert _authorize() is None


def test_http_exception_from_a_handler_becomes_its_status_and_detail(handlers):
    handlers("""
@auth.on
async def not_here(ctx, value):
    raise Auth.exceptions.HTTPException(status_code=404, detail="Thread not found")
""")
    with pytest.raises(AccessError) as refused:
        _authorize()

    assert (refused.value.status_code, refused.value.detail) == (404, "Thread not found")


def test_assertion_error_is_a_403_with_its_message(handlers):
    handlers("@auth.on\nasync def check(ctx, value):\n    assert False, 'admins only'\n")
    with pytest.raises(PermissionDenied, match="admins only"):
        _authorize()


@pytest.mark.parametrize("body", ["raise RuntimeError('bug')", "return 'yes'", "return {'owner': {'$gt': 1}}"])
def test_a_broken_handler_fails_closed_with_403(handlers, body):
    handlers(f"@auth.on\nasync def broken(ctx, value):\n    {body}\n")
    with pytest.raises(PermissionDenied) as refused:
        _authorize()

    assert refused.value.status_code == 403


def test_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError, match=r"threads\.explode"):
        _authorize("threads", "explode")


def test_sync_wrapper_runs_the_same_handler(handlers):
    handlers("@auth.on\nasync def mine(ctx, value):\n    return {'owner': ctx.user.identity}\n")

    filter_ = authorize_sync(resource="crons", action="search", value={}, user=ALICE)

    assert filter_.raw == {"owner": "alice"}


def test_store_handler_rewrites_the_namespace_the_store_then_uses(handlers):
    handlers("""
@auth.on.store
async def scope(ctx, value):
    value["namespace"] = (ctx.user.identity, *value["namespace"])
""")
    value = {"namespace": ("memories",), "key": "k"}
    _authorize("store", "put", value)

    assert store_namespace(value) == ("alice", "memories")


def test_a_namespace_left_as_a_string_is_a_422_not_split_into_characters():
    with pytest.raises(InvalidInput, match="Namespace must be a list of labels"):
        store_namespace({"namespace": "alice"})
    assert store_namespace({"namespace": None}, optional=True) is None
