"""Small pieces every app's views share: body validation, JSON-object fields, timestamps, pagination headers."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], data: object) -> dict:
    """The validated body, or a ValidationError the exception handler turns into a 422."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 3 or true into "3" or "True", which the official
    server's schemas refuse with 422."""

    default_error_messages = {"not_string": "must be a string."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("not_string")
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": True})
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


def documented_choice(choices: Iterable[str], **kwargs: object) -> serializers.CharField:
    """A string documented as one of `choices` (its OpenAPI enum), for a field whose serializer or service checks
    the value itself, to answer the official wording."""
    schema = {"type": "string", "enum": list(choices)}
    field_class = extend_schema_field(schema)(type("DocumentedChoiceField", (StrictCharField,), {}))
    return field_class(**kwargs)
