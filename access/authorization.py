"""What an authenticated user may do: ask the `@auth.on` handler for one (resource, action), as the official
server does, from services and selectors (no HTTP here).

    filter_ = authorize_sync(resource="threads", action="read", value={"thread_id": thread_id}, user=user)
    threads = Thread.objects.filter(filter_.q()) if filter_ else Thread.objects.all()

The handler gets `Auth.types.AuthContext(user, permissions, resource, action)` and `value` (the official shape for
that action: `Auth.types.on.<resource>.<action>.value`). It may change `value` in place (stamp
`metadata.owner` on create, rewrite a store namespace): callers go on with the value it left. Its answer:
None or True allows, False is a 403 `{"detail": "Forbidden"}`, a dict is a Filter restricting what the user
sees. `Auth.exceptions.HTTPException` becomes its status and detail, an AssertionError a 403 with its message;
anything else a handler raises is a 403, logged, never a pass.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.db.models import Model, QuerySet
from langgraph_sdk import Auth

from access.custom_auth import get_custom_auth
from access.errors import PermissionDenied, refusal_from
from access.filters import Filter
from access.handlers import RESOURCE_ACTIONS, Handler, handler_for
from access.users import AuthUser
from agentplatform.errors import InvalidInput

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


def _handler(resource: str, action: str, user: AuthUser | None) -> Handler | None:
    if action not in RESOURCE_ACTIONS.get(resource, ()):
        raise ValueError(f"Unknown authorization event {resource}.{action}.")
    custom = get_custom_auth()
    # No user means the server itself (start-up, the cron scheduler), which officially skips authorization.
    if custom is None or user is None:
        return None
    return handler_for(custom.auth, resource, action)


def _name(handler: Handler) -> str:
    return getattr(handler, "__name__", repr(handler))


async def _decision(handler: Handler, ctx: Auth.types.AuthContext, value: Any) -> Any:
    try:
        return await handler(ctx=ctx, value=value)
    except AssertionError as exc:
        raise PermissionDenied(str(exc) or "Forbidden") from None
    except Exception as exc:
        if (refusal := refusal_from(exc, fallback_status=403)) is not None:
            raise refusal from None
        logger.exception("Auth handler %s failed on %s.%s; answering 403", _name(handler), ctx.resource, ctx.action)
        raise PermissionDenied("Forbidden") from None


def _filter(result: Any, handler: Handler) -> Filter | None:
    if result is None or result is True:
        return None
    if result is False:
        raise PermissionDenied("Forbidden")
    if not isinstance(result, dict):
        logger.error("Auth handler %s returned a %s", _name(handler), type(result).__name__)
        raise PermissionDenied(
            f"Auth handler returned invalid result. Expected filter dict, None, or boolean. Got {type(result)} instead."
        )
    return Filter(result) if result else None


async def authorize(*, resource: str, action: str, value: dict, user: AuthUser | None) -> Filter | None:
    """The filter the user's access to `resource` is restricted to (None: no restriction); raises AccessError
    when refused. `user=None` is the server acting for itself: no handler runs."""
    handler = _handler(resource, action, user)
    if handler is None:
        return None
    ctx = Auth.types.AuthContext(permissions=user.permissions, user=user, resource=resource, action=action)
    return _filter(await _decision(handler, ctx, value), handler)


def authorize_sync(*, resource: str, action: str, value: dict, user: AuthUser | None) -> Filter | None:
    """authorize for synchronous services and selectors; free when no handler applies."""
    if _handler(resource, action, user) is None:
        return None
    return async_to_sync(authorize)(resource=resource, action=action, value=value, user=user)


def authorized(
    queryset: QuerySet[M], *, resource: str, action: str, value: dict, user: AuthUser | None, field: str = "metadata"
) -> QuerySet[M]:
    """`queryset` narrowed to what the handler for (resource, action) lets `user` see: the one place selectors
    and services apply ownership. Rows outside it are simply absent, so they answer exactly as unknown ids."""
    filter_ = authorize_sync(resource=resource, action=action, value=value, user=user)
    return queryset if filter_ is None else queryset.filter(filter_.q(field))


def store_namespace(value: dict, key: str = "namespace", *, optional: bool = False) -> tuple[str, ...] | None:
    """The namespace a store handler left in `value`, as a tuple; labels are then checked by the store as usual.

    A handler that sets a string (`value["namespace"] = ctx.user.identity`) would otherwise be split into one
    label per character: it is a 422, with the official detail.
    """
    namespace = value.get(key)
    if namespace is None and optional:
        return None
    if not isinstance(namespace, list | tuple):
        raise InvalidInput("Namespace must be a list of labels")
    return tuple(namespace)
