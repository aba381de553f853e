"""tests/graphs/auth.py, written as the official tutorials write one, behaves here as it does there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from access.authorization import authorize
from access.custom_auth import reset_custom_auth
from access.errors import AccessError
from access.identity import authenticate_request

CONFIG = Path(__file__).parents[1] / "graphs" / "langgraph_auth.json"


@pytest.fixture(autouse=True)
def tutorial_auth(settings):
    settings.LANGGRAPH_CONFIG = str(CONFIG)
    reset_custom_auth()
    yield
    reset_custom_auth()


def _user(authorization: str | None):
    headers = {"authorization": authorization} if authorization else {}
    return asyncio.run(authenticate_request(method="POST", path="/threads", headers=headers)).user


def test_each_token_is_its_user():
    assert (_user("Bearer user1-token").identity, _user("Bearer user2-token").identity) == ("user1", "user2")


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [("Bearer nope", "Invalid token"), (None, "Unauthorized"), ("user1-token", "Unauthorized")],
)
def test_unknown_missing_or_malformed_tokens_are_401(authorization, detail):
    with pytest.raises(AccessError) as refused:
        _user(authorization)

    assert (refused.value.status_code, refused.value.detail) == (401, detail)


def test_creates_are_stamped_with_the_owner_and_reads_filtered_by_it():
    user = _user("Bearer user1-token")
    value = {"metadata": {"topic": "x"}}

    filter_ = asyncio.run(authorize(resource="threads", action="create", value=value, user=user))

    assert value["metadata"] == {"topic": "x", "owner": "user1"}
    assert filter_.matches(value["metadata"]) and not filter_.matches({"owner": "user2"})
