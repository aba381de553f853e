"""The caller of one API request or websocket handshake, as the wiring's identity hook asks for it
(agentplatform.identity; registered in AccessConfig.ready()).

The routes the official server serves outside its authentication stay open (`/`, `/ok`, `/info`, `/metrics`,
`/docs`, `/openapi.json`; the last two need credentials with API_DOCS_PUBLIC=false); every other path, unknown
ones and the websocket included, is authenticated by access.identity.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

from access.custom_auth import get_custom_auth
from access.identity import OPEN_PATHS, authenticate_request, authenticate_request_sync
from access.users import ANONYMOUS, AuthUser

DOCS_PATHS = frozenset({"/docs", "/openapi.json"})


def is_open_path(path: str) -> bool:
    if path in DOCS_PATHS:
        return settings.API_DOCS_PUBLIC
    return path in OPEN_PATHS


def _path_params(path: str) -> dict[str, str]:
    """The route's parameters, resolved only for a handler that reads them (the URLconf resolves again later)."""
    custom = get_custom_auth()
    if custom is None or not {"path_params", "request"} & custom.authenticate_params:
        return {}
    try:
        return dict(resolve(path).kwargs)
    except Resolver404:
        return {}


async def request_user(*, path: str, **request: Any) -> AuthUser:
    """The user the request runs as (ANONYMOUS on open paths and when no auth is configured); AccessError when
    refused. Keywords: those of access.identity.authenticate_request."""
    if is_open_path(path):
        return ANONYMOUS
    return (await authenticate_request(path=path, path_params=_path_params(path), **request)).user


def request_user_sync(*, path: str, **request: Any) -> AuthUser:
    if is_open_path(path):
        return ANONYMOUS
    return authenticate_request_sync(path=path, path_params=_path_params(path), **request).user
