"""access.identity: @auth.authenticate gets only what it declares, as officially passed; its refusals become their
status and detail, and a failing handler is a 401, never a pass. (API keys: tests/component/test_access_api_keys.py.)"""

from __future__ import annotations

import asyncio
import sys

import pytest

from access.custom_auth import get_custom_auth
from access.errors import AccessError, Unauthenticated
from access.identity import authenticate_request, authenticate_request_sync


def _authenticate(**overrides):
    request = {"method": "get", "path": "/threads/t1", "headers": {"Authorization": "Bearer good"}} | overrides
    return asyncio.run(authenticate_request(**request))


def _seen() -> list:
    return sys.modules[get_custom_auth().auth._authenticate_handler.__module__].SEEN


def test_without_custom_auth_every_caller_is_anonymous(settings):
    result = _authenticate(headers={})

    assert (result.scheme, result.user.identity, result.user.is_authenticated) == ("anonymous", "", False)


def test_handler_gets_only_the_parameters_it_declares(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(authorization, path):
            SEEN.append((authorization, path))
            return "u"
    """
    )
    _authenticate()

    assert _seen() == [("Bearer good", "/threads/t1")]


def test_every_supported_parameter_arrives_in_the_official_form(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(request, path, method, headers, authorization, query_params, path_params, scopes,
                               user, scope, body=None):
            SEEN.append(dict(locals()))
            return "u"
    """
    )
    _authenticate(
        headers=[(b"authorization", b"Bearer good"), (b"x-tenant", b"t")],
        query_params="stream=1&a=1&a=2",
        path_params={"thread_id": "t1"},
    )
    [seen] = _seen()

    assert (seen["path"], seen["method"], seen["authorization"]) == ("/threads/t1", "GET", "Bearer good")
    assert seen["headers"] == {b"authorization": b"Bearer good", b"x-tenant": b"t"}
    assert seen["query_params"] == {"stream": "1", "a": "2"}  # the last of a repeated name, as Starlette's
    assert seen["path_params"] == {"thread_id": "t1"}
    assert (seen["scopes"], seen["user"], seen["body"]) == ([], None, None)
    assert seen["request"].headers.get("Authorization") == "Bearer good"
    assert (seen["request"].method, seen["request"].url.path) == ("GET", "/threads/t1")
    assert seen["scope"]["type"] == "http" and seen["scope"]["path"] == "/threads/t1"


def test_django_style_headers_are_read_as_lower_case_bytes(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(headers):
            SEEN.append(headers)
            return "u"
    """
    )
    _authenticate(headers={"X-Api-Key": "k", "Authorization": "Bearer good"})

    assert _seen() == [{b"x-api-key": b"k", b"authorization": b"Bearer good"}]


def test_a_request_the_edge_passes_is_what_the_handler_gets(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(request):
            SEEN.append(request)
            return "u"
    """
    )
    marker = object()
    _authenticate(request=marker)

    assert _seen() == [marker]


def test_returned_user_is_normalised_with_its_permissions(use_auth):
    use_auth(
        """
        @auth.authenticate
        async def authenticate(authorization):
            return {"identity": "alice", "permissions": ["threads:write"], "org": "acme"}
    """
    )
    result = _authenticate()

    assert (result.scheme, result.user.identity, result.permissions) == ("custom", "alice", ["threads:write"])
    assert result.user.org == "acme"


def test_a_synchronous_handler_is_run_too(use_auth):
    use_auth(
        """
        @auth.authenticate
        def authenticate(authorization):
            return "sync-user"
    """
    )

    assert _authenticate().user.identity == "sync-user"


def test_http_exception_becomes_its_status_detail_and_headers(use_auth):
    use_auth(
        """
        @auth.authenticate
        async def authenticate(authorization):
            raise Auth.exceptions.HTTPException(status_code=403, detail="Suspended", headers={"X-Why": "ban"})
    """
    )
    with pytest.raises(AccessError) as refused:
        _authenticate()

    refusal = refused.value
    assert (refusal.status_code, refusal.detail, refusal.headers) == (403, "Suspended", {"X-Why": "ban"})


def test_http_exception_without_arguments_is_the_sdk_default_401_unauthorized(use_auth):
    use_auth(
        """
        @auth.authenticate
        async def authenticate(authorization):
            raise Auth.exceptions.HTTPException()
    """
    )
    with pytest.raises(AccessError) as refused:
        _authenticate()

    assert (refused.value.status_code, refused.value.detail) == (401, "Unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        "assert authorization == 'Bearer other'",  # the official tutorial's style, on a missing header
        "scheme, token = authorization.split(' ', 5)",  # malformed header: ValueError
        "raise RuntimeError('identity provider down')",
        "return None",  # no user
        "return {'permissions': ['all']}",  # no identity
    ],
)
def test_any_other_failure_is_a_401_never_a_pass(use_auth, body):
    use_auth(
        f"""
        @auth.authenticate
        async def authenticate(authorization):
            {body}
    """
    )
    with pytest.raises(Unauthenticated) as refused:
        _authenticate(headers={"Authorization": "x"})

    assert (refused.value.status_code, refused.value.detail) == (401, "Unauthorized")


def test_a_refusal_with_a_success_status_still_refuses(use_auth):
    use_auth(
        """
        @auth.authenticate
        async def authenticate(authorization):
            raise Auth.exceptions.HTTPException(status_code=200, detail="fine?")
    """
    )
    with pytest.raises(AccessError) as refused:
        _authenticate()

    assert refused.value.status_code == 401


def test_sync_wrapper_gives_the_same_answer(use_auth):
    use_auth(
        """
        @auth.authenticate
        async def authenticate(authorization):
            if authorization != "Bearer good":
                raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
            return "alice"
    """
    )
    request = {"method": "GET", "path": "/threads", "query_params": None}

    assert authenticate_request_sync(headers={"authorization": "Bearer good"}, **request).user.identity == "alice"
    with pytest.raises(AccessError, match="Invalid token"):
        authenticate_request_sync(headers={}, **request)


def test_cache_reuses_a_success_for_the_same_credential_only(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(authorization):
            SEEN.append(authorization)
            return authorization.split()[-1]
    """,
        cache={"cache_keys": ["Authorization"], "ttl_seconds": 60},
    )
    first = _authenticate(headers={"authorization": "Bearer a"})
    again = _authenticate(headers={"authorization": "Bearer a"})
    other = _authenticate(headers={"authorization": "Bearer b"})

    assert (first.user.identity, again.user.identity, other.user.identity) == ("a", "a", "b")
    assert _seen() == ["Bearer a", "Bearer b"]


def test_refusals_are_never_cached(use_auth):
    use_auth(
        """
        SEEN = []

        @auth.authenticate
        async def authenticate(authorization):
            SEEN.append(authorization)
            raise Auth.exceptions.HTTPException(status_code=401)
    """,
        cache={"cache_keys": ["authorization"]},
    )
    for _ in range(2):
        with pytest.raises(AccessError):
            _authenticate()

    assert len(_seen()) == 2
