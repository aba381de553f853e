"""Refusals from authentication and authorization. They are ApplicationErrors, so the one exception handler
answers them with `{"detail": ...}` and their status, as for any other domain error."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from langgraph_sdk import Auth

from agentplatform.errors import ApplicationError


class AccessError(ApplicationError):
    """A refused request; `status_code` may be any status an auth handler chose (Auth.exceptions.HTTPException)."""

    status_code = 403

    def __init__(self, detail: str, *, status_code: int | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        if status_code is not None:
            self.status_code = status_code
        self.headers = dict(headers or {})


class Unauthenticated(AccessError):
    """No usable credential: missing, malformed, unknown or revoked."""

    status_code = 401


class PermissionDenied(AccessError):
    """An authorization handler said no (official body: `{"detail": "Forbidden"}`)."""

    status_code = 403


def refusal_from(exc: BaseException, *, fallback_status: int) -> AccessError | None:
    """The status and detail an auth handler chose by raising langgraph_sdk's HTTPException (or Starlette's or
    FastAPI's, which the official server honours too); None for any other exception."""
    status, detail = getattr(exc, "status_code", None), getattr(exc, "detail", None)
    if not isinstance(exc, Auth.exceptions.HTTPException) and not (isinstance(status, int) and detail is not None):
        return None
    if not isinstance(status, int) or not 400 <= status <= 599:
        status = fallback_status  # a "refusal" with a success status must still refuse
    if not detail:
        detail = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Request refused"
    return AccessError(str(detail), status_code=status, headers=getattr(exc, "headers", None))
