"""Built-in API keys on real Postgres: hashed at rest, found in constant time, revoked at once, last use recorded;
and how they compose with custom auth (docs/auth.md)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from access import selectors, services
from access.errors import AccessError, Unauthenticated
from access.identity import authenticate_request, authenticate_request_sync
from access.models import ApiKey

pytestmark = pytest.mark.django_db

CUSTOM = """
SEEN = []

@auth.authenticate
async def authenticate(authorization):
    SEEN.append(authorization)
    if authorization != "Bearer good":
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
    return "jwt-user"
"""


@pytest.fixture
def keys_on(settings):
    settings.API_KEYS_ENABLED = True
    return settings


def _sync(headers: dict):
    return authenticate_request_sync(method="GET", path="/threads/search", headers=headers)


def test_key_is_stored_only_as_its_sha256_digest():
    api_key, raw_key = services.api_key_create(label="ci", owner="bot", permissions=["threads:write"])

    assert raw_key.startswith("agp_") and len(raw_key) > 40
    assert api_key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert api_key.prefix == raw_key[:12]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM access_apikey")
        assert not any(raw_key in str(column) for row in cursor.fetchall() for column in row)


def test_two_keys_never_share_a_secret():
    _, first = services.api_key_create(label="a", owner="o")
    _, second = services.api_key_create(label="b", owner="o")

    assert first != second


def test_find_returns_the_active_key_and_nothing_for_a_wrong_or_revoked_one():
    api_key, raw_key = services.api_key_create(label="ci", owner="bot")

    assert selectors.api_key_find(raw_key=raw_key) == api_key
    assert selectors.api_key_find(raw_key=raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")) is None
    assert selectors.api_key_find(raw_key="not-a-key") is None
    assert services.api_key_revoke(api_key_ids=[api_key.pk]) == 1
    assert selectors.api_key_find(raw_key=raw_key) is None
    assert services.api_key_revoke(api_key_ids=[api_key.pk]) == 0  # revoking twice keeps the first date


def test_permissions_must_be_a_list_of_strings():
    with pytest.raises(ValidationError, match="list of strings"):
        services.api_key_create(label="x", owner="o", permissions="admin")


def test_valid_key_authenticates_as_its_owner_with_its_permissions(keys_on):
    _, raw_key = services.api_key_create(label="ci", owner="bot", permissions=["threads:write"])

    result = _sync({"X-Api-Key": raw_key})

    assert (result.scheme, result.user.identity, result.permissions) == ("api_key", "bot", ["threads:write"])
    assert result.user.api_key == raw_key[:12] and result.user.is_authenticated


def test_use_is_recorded_at_most_once_a_minute(keys_on):
    api_key, raw_key = services.api_key_create(label="ci", owner="bot")
    _sync({"x-api-key": raw_key})
    api_key.refresh_from_db()
    first_use = api_key.last_used_at

    _sync({"x-api-key": raw_key})
    api_key.refresh_from_db()
    assert first_use is not None and api_key.last_used_at == first_use

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    _sync({"x-api-key": raw_key})
    api_key.refresh_from_db()
    assert api_key.last_used_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer anything"}])
def test_without_custom_auth_a_request_without_a_key_is_a_401(keys_on, headers):
    with pytest.raises(Unauthenticated, match="Missing authentication headers"):
        _sync(headers)


def test_revoked_key_is_a_401_from_the_next_request_on(keys_on):
    api_key, raw_key = services.api_key_create(label="ci", owner="bot")
    _sync({"x-api-key": raw_key})
    services.api_key_revoke(api_key_ids=[api_key.pk])

    with pytest.raises(Unauthenticated, match="Invalid API key") as refused:
        _sync({"x-api-key": raw_key})
    assert refused.value.status_code == 401


def test_keys_off_ignores_the_header_and_everyone_stays_anonymous():
    _, raw_key = services.api_key_create(label="ci", owner="bot")

    assert _sync({"x-api-key": raw_key}).scheme == "anonymous"


def test_with_custom_auth_a_valid_key_is_enough_and_custom_auth_is_not_asked(keys_on, use_auth):
    use_auth(CUSTOM)
    _, raw_key = services.api_key_create(label="ci", owner="bot")

    result = _sync({"x-api-key": raw_key, "authorization": "Bearer good"})

    assert (result.scheme, result.user.identity) == ("api_key", "bot")


def test_with_custom_auth_a_bad_key_is_a_401_even_with_a_good_token(keys_on, use_auth):
    use_auth(CUSTOM)

    with pytest.raises(Unauthenticated, match="Invalid API key"):
        _sync({"x-api-key": "agp_wrongwrongwrongwrongwrong", "authorization": "Bearer good"})


def test_with_custom_auth_a_request_without_a_key_goes_to_custom_auth(keys_on, use_auth):
    use_auth(CUSTOM)

    assert _sync({"authorization": "Bearer good"}).user.identity == "jwt-user"
    with pytest.raises(AccessError, match="Invalid token"):
        _sync({"authorization": "Bearer bad"})


@pytest.mark.django_db(transaction=True)
def test_async_edge_checks_keys_on_a_pool_thread(keys_on):
    """The async entry point looks the key up off the event loop (committed rows, hence a transactional test)."""
    _, raw_key = services.api_key_create(label="ws", owner="socket-user")

    async def handshake():
        return await authenticate_request(method="GET", path="/ws", headers=[(b"x-api-key", raw_key.encode())])

    assert asyncio.run(handshake()).user.identity == "socket-user"
    with pytest.raises(Unauthenticated):
        asyncio.run(authenticate_request(method="GET", path="/ws", headers=[(b"x-api-key", b"agp_nope_nope_nope")]))
