"""Small pieces every app's views share: body validation, JSON-object fields, timestamps, pagination headers."""

from __future__ import annotations

import datetime

from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], data: object) -> dict:
    """The validated body, or a ValidationError the exception handler turns into a 422."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class JSONObjectField(serializers.JSONField):
    """A JSON object (dict); arrays, strings and numbers are refused with 422."""

    default_error_messages = {"not_object": "must be an object."}

    def to_internal_value(self, data: object) -> dict:
        if not isinstance(data, dict):
            self.fail("not_object")
        return data


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 with "+00:00", as the official server writes it (DRF's default writes "Z")."""

    def to_representation(self, value: datetime.datetime | None) -> str | None:
        return value.isoformat() if value else None


def pagination_headers(*, offset: int, returned: int, has_more: bool) -> dict[str, str]:
    """Official semantics: with more rows, Next = offset + returned and Total = Next + 1 (a lower bound)."""
    if not has_more:
        return {"X-Pagination-Total": str(offset + returned)}
    next_offset = offset + returned
    return {"X-Pagination-Total": str(next_offset + 1), "X-Pagination-Next": str(next_offset)}
