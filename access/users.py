"""The caller as authorization handlers (`ctx.user`) and graphs (`langgraph_auth_user`) see it.

An `@auth.authenticate` handler may return an identity string, a dict (`identity`, `permissions`, `display_name`,
`is_authenticated` and any extra fields), an object with an `identity` attribute, or a `(permissions, user)` pair;
the official server accepts all four. Each becomes one `AuthUser`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

USER_KEYS = ("langgraph_auth_user", "langgraph_auth_user_id", "langgraph_auth_permissions")


class AuthUser:
    """langgraph_sdk's BaseUser protocol (identity, display_name, is_authenticated, permissions) over the fields
    the handler returned, readable as `user["org"]` or `user.org`. An object the handler returned stays
    reachable the same way, so its own attributes and methods keep working in handlers."""

    __slots__ = ("_fields", "_permissions", "_source")

    def __init__(self, fields: Mapping[str, Any], *, permissions: Sequence[str] | None = None, source: Any = None):
        identity = _identity(fields.get("identity"))
        self._fields = {"identity": identity, "is_authenticated": True, "display_name": identity, **fields}
        self._fields["identity"] = identity
        self._permissions = _permissions(fields.get("permissions", ()) if permissions is None else permissions)
        self._source = source

    @property
    def identity(self) -> str:
        return self._fields["identity"]

    @property
    def display_name(self) -> str:
        return self._fields["display_name"]

    @property
    def is_authenticated(self) -> bool:
        return bool(self._fields["is_authenticated"])

    @property
    def permissions(self) -> list[str]:
        return list(self._permissions)

    def dict(self) -> dict[str, Any]:
        """The JSON form (what a run's config stores; `normalize_user` reads it back)."""
        return dict(self._fields)

    model_dump = dict

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._source is not None and hasattr(self._source, name):
            return getattr(self._source, name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"The user has no field {name!r}.") from None

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def get(self, key: str, default: Any = None) -> Any:
        return self._fields.get(key, default)

    def keys(self):
        return self._fields.keys()

    def values(self):
        return self._fields.values()

    def items(self):
        return self._fields.items()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuthUser):
            return NotImplemented
        return self._fields == other._fields and self._permissions == other._permissions

    __hash__ = None  # mutable-looking mapping semantics; never a dict key

    def __repr__(self) -> str:
        return (
            f"AuthUser(identity={self.identity!r}, display_name={self.display_name!r}, "
            f"is_authenticated={self.is_authenticated}, permissions={self._permissions!r})"
        )


def _identity(value: Any) -> str:
    # An integer user id is common (`{"identity": user.id}`); filters then compare its text form consistently.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(
            f"The user's identity must be a string, got {type(value).__name__}: return a user id string, or a "
            'dict like {"identity": "user-1", "permissions": [...]} from @auth.authenticate.'
        )
    return value


def _permissions(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(p, str) for p in value):
        raise ValueError(f"permissions must be a list of strings, got {value!r}.")
    return tuple(value)


def _object_fields(user: Any) -> dict[str, Any]:
    if callable(getattr(user, "model_dump", None)):
        fields = user.model_dump(mode="json")
    elif callable(getattr(user, "dict", None)):
        fields = user.dict()
    else:
        fields = {}
    fields = dict(fields) | {"identity": user.identity}
    for name in ("display_name", "is_authenticated"):
        if hasattr(user, name):
            fields[name] = getattr(user, name)
    return fields


# Who calls when no authentication is configured (the official server's UnauthenticatedUser).
ANONYMOUS = AuthUser({"identity": "", "is_authenticated": False, "display_name": ""})


def normalize_user(user: Any, *, permissions: Sequence[str] | None = None) -> AuthUser:
    """One AuthUser from what a handler returned or a run's config stored; ValueError when it is neither."""
    if isinstance(user, AuthUser):
        return user if permissions is None else AuthUser(user.dict(), permissions=permissions)
    if isinstance(user, str):
        return AuthUser({"identity": user}, permissions=permissions)
    if isinstance(user, Mapping) and "identity" in user:
        return AuthUser(dict(user), permissions=permissions)
    if hasattr(user, "identity"):
        return AuthUser(_object_fields(user), permissions=permissions, source=user)
    raise ValueError(
        "@auth.authenticate must return a user: an identity string, a dict with 'identity' (and optionally "
        f"'permissions', 'display_name', 'is_authenticated'), or an object with an identity property; got "
        f"{type(user).__name__}."
    )


def normalize_auth_response(response: Any) -> AuthUser:
    """The user an `@auth.authenticate` handler returned, its permissions taken where the official server takes
    them: a `(permissions, user)` pair, a `permissions` attribute, or a `permissions` key."""
    if isinstance(response, tuple):
        if len(response) != 2:
            raise ValueError(f"Expected a (permissions, user) pair, got a tuple of {len(response)}.")
        permissions, user = response
    elif not isinstance(response, Mapping) and hasattr(response, "permissions"):
        permissions, user = response.permissions, response
    else:
        permissions, user = None, response
    return normalize_user(user, permissions=permissions)


def auth_configurable(user: AuthUser) -> dict[str, Any]:
    """What a run's `config["configurable"]` carries about its caller, in the JSON form a run stores (the
    official keys; an anonymous caller is stored as None, as officially)."""
    return {
        "langgraph_auth_user": user.dict() if user.is_authenticated else None,
        "langgraph_auth_user_id": user.identity,
        "langgraph_auth_permissions": user.permissions,
    }


def user_from_configurable(configurable: Mapping[str, Any]) -> AuthUser | None:
    """The caller a stored run (or a cron) was created by, as an AuthUser again; None when it had none."""
    stored = configurable.get("langgraph_auth_user")
    permissions = configurable.get("langgraph_auth_permissions") or []
    if stored:
        return normalize_user(stored, permissions=permissions)
    identity = configurable.get("langgraph_auth_user_id")
    return AuthUser({"identity": identity}, permissions=permissions) if identity else None


def graph_caller(user: AuthUser | None) -> tuple[dict[str, Any], AuthUser | None]:
    """What a graph factory building a graph for `user`'s request is told of them, exactly what a run they
    created tells it (runs.engine.executor): the configurable keys, the user there as an AuthUser, and the
    ServerRuntime's user (None for an anonymous caller). No user (the server itself): nothing, and None."""
    if user is None:
        return {}, None
    configurable = auth_configurable(user)
    runtime_user = user_from_configurable(configurable)
    if configurable["langgraph_auth_user"]:
        configurable["langgraph_auth_user"] = runtime_user
    return configurable, runtime_user
