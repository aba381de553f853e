"""Which `@auth.on` handler answers a (resource, action), with the official precedence, and which pairs none does.

Reads the registrations langgraph_sdk keeps on the Auth object (`_handlers`, `_global_handlers`: the SDK states
that their names and types are part of its contract with the server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph_sdk import Auth

_CRUD = ("create", "read", "update", "delete", "search")
# Every (resource, action) the server asks about; the values handlers receive are langgraph_sdk's
# Auth.types.on.<resource>.<action>.value.
RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "assistants": _CRUD,
    "threads": (*_CRUD, "create_run"),
    "crons": _CRUD,
    "store": ("put", "get", "search", "delete", "list_namespaces"),
}

Handler = Callable[..., Any]


def handler_for(auth: Auth, resource: str, action: str) -> Handler | None:
    """The most specific handler: resource+action, then resource, then action, then `("*", "*")`, then the
    global `@auth.on`; None when nothing matches (the request is then allowed, as officially)."""
    for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
        registered = auth._handlers.get(key)
        if registered:
            return registered[-1]
    return auth._global_handlers[-1] if auth._global_handlers else None


def uncovered(auth: Auth) -> list[str]:
    """ "resource.action" for every pair no handler answers: requests there are allowed without any check."""
    return [
        f"{resource}.{action}"
        for resource, actions in RESOURCE_ACTIONS.items()
        for action in actions
        if handler_for(auth, resource, action) is None
    ]


DEFAULT_DENY_HINT = (
    "To deny what you have not allowed, add a default-deny handler to your auth file:\n\n"
    "    @auth.on\n"
    "    async def deny_by_default(ctx: Auth.types.AuthContext, value: dict) -> bool:\n"
    "        return False\n\n"
    "and allow each action with @auth.on.<resource> or @auth.on.<resource>.<action> handlers."
)


def coverage_warning(auth: Auth, path: str) -> str | None:
    """What start-up and `manage.py check` say when some requests would pass with no authorization check."""
    missing = uncovered(auth)
    if not missing:
        return None
    if len(missing) == sum(len(actions) for actions in RESOURCE_ACTIONS.values()):
        scope = "registers no @auth.on handler: every authenticated user may read and change every resource"
    else:
        scope = f"has no authorization handler for {', '.join(missing)}: these are allowed for every authenticated user"
    return f"Custom auth {path} {scope}."
