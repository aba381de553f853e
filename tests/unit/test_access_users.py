"""access.users: every user form an @auth.authenticate handler may return becomes one AuthUser, as officially."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass

import pytest
from langgraph_sdk import Auth

from access.users import (
    ANONYMOUS,
    AuthUser,
    auth_configurable,
    graph_caller,
    normalize_auth_response,
    normalize_user,
    user_from_configurable,
)


def test_identity_string_becomes_an_authenticated_user_with_defaults():
    user = normalize_auth_response("user1")

    assert (user.identity, user.display_name, user.is_authenticated, user.permissions) == ("user1", "user1", True, [])
    assert user.dict() == {"identity": "user1", "is_authenticated": True, "display_name": "user1"}


def test_dict_keeps_its_permissions_display_name_and_extra_fields():
    user = normalize_auth_response({"identity": "u", "permissions": ["read"], "display_name": "U", "org": "acme"})

    assert user.permissions == ["read"]
    assert user.display_name == "U"
    assert user["org"] == "acme" and user.org == "acme" and "org" in user
    assert user.get("missing", 7) == 7


def test_dict_may_say_the_user_is_not_authenticated():
    assert normalize_auth_response({"identity": "u", "is_authenticated": False}).is_authenticated is False


def test_object_with_identity_keeps_its_own_attributes_and_methods():
    @dataclass
    class Member:
        identity: str
        permissions: list
        team: str

        def can(self, what: str) -> bool:
            return what in self.permissions

    user = normalize_auth_response(Member("m", ["write"], "blue"))

    assert (user.identity, user.permissions, user.team) == ("m", ["write"], "blue")
    assert user.can("write") is True
    assert user.display_name == "m"


def test_permissions_and_user_pair_is_accepted():
    user = normalize_auth_response((["admin"], {"identity": "root"}))

    assert (user.identity, user.permissions) == ("root", ["admin"])


def test_integer_identity_is_read_as_its_text():
    assert normalize_auth_response({"identity": 42}).identity == "42"


@pytest.mark.parametrize(
    "response",
    [None, {"permissions": []}, {"identity": None}, {"identity": "u", "permissions": "admin"}, (1, 2, 3), 3.5],
)
def test_anything_else_is_refused_with_a_message_saying_what_to_return(response):
    with pytest.raises(ValueError, match=r"identity|permissions|pair"):
        normalize_auth_response(response)


def test_user_satisfies_the_sdk_base_user_protocol():
    user = normalize_user({"identity": "u"})

    assert isinstance(user, Auth.types.BaseUser)
    assert isinstance(user, Auth.types.MinimalUser)
    assert dict(user.items()) == user.dict() and list(user) == list(user.keys())


def test_user_survives_the_copies_and_pickles_a_run_config_goes_through():
    user = AuthUser({"identity": "u", "org": "acme"}, permissions=["p"])

    assert copy.deepcopy(user) == user and pickle.loads(pickle.dumps(user)) == user
    assert copy.copy(user).org == "acme"


def test_anonymous_user_is_not_authenticated_and_has_an_empty_identity():
    assert (ANONYMOUS.identity, ANONYMOUS.is_authenticated, ANONYMOUS.display_name) == ("", False, "")


def test_configurable_carries_the_official_keys_and_reads_back_to_the_same_user():
    user = AuthUser({"identity": "u", "org": "acme"}, permissions=["p"])
    configurable = auth_configurable(user)

    assert configurable == {
        "langgraph_auth_user": {"identity": "u", "is_authenticated": True, "display_name": "u", "org": "acme"},
        "langgraph_auth_user_id": "u",
        "langgraph_auth_permissions": ["p"],
    }
    assert user_from_configurable(configurable) == user


def test_anonymous_caller_is_stored_as_none_and_read_back_as_no_user():
    configurable = auth_configurable(ANONYMOUS)

    assert configurable["langgraph_auth_user"] is None
    assert user_from_configurable(configurable) is None


def test_a_graph_built_for_a_request_is_told_of_the_caller_as_a_run_of_theirs_is():
    user = AuthUser({"identity": "u", "org": "acme"}, permissions=["p"])
    configurable, runtime_user = graph_caller(user)

    assert runtime_user == user
    assert configurable["langgraph_auth_user"] == user and isinstance(configurable["langgraph_auth_user"], AuthUser)
    assert (configurable["langgraph_auth_user_id"], configurable["langgraph_auth_permissions"]) == ("u", ["p"])


def test_an_anonymous_caller_is_no_runtime_user_and_the_server_itself_adds_nothing():
    assert graph_caller(ANONYMOUS) == (
        {"langgraph_auth_user": None, "langgraph_auth_user_id": "", "langgraph_auth_permissions": []},
        None,
    )
    assert graph_caller(None) == ({}, None)


def test_a_stored_user_id_alone_still_names_the_user():
    user = user_from_configurable({"langgraph_auth_user_id": "cron-owner", "langgraph_auth_permissions": ["x"]})

    assert (user.identity, user.permissions) == ("cron-owner", ["x"])
