"""The application's error types: domain code raises these; the API edge (agentplatform.api_errors) maps them.

Nothing here knows HTTP frameworks, so services and selectors can raise them without importing DRF or Django's
HTTP layer; `status_code` is only the status the edge answers with.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ApplicationError):
    status_code = 422


class BadRequest(ApplicationError):
    status_code = 400


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409


class StaleAttemptError(Exception):
    """A write of a run attempt that no longer owns its run (its lease was taken over, or the run ended) was
    refused. Not an API error: the worker stops the attempt and writes nothing more for it."""
