"""Request validation and response shapes of the Store API (field for field as the official server)."""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from langgraph.store.base import Item
from rest_framework import serializers

from agentplatform.api import JSONObjectField, StrictCharField


class _Labels(serializers.ListField):
    child = StrictCharField(allow_blank=True, trim_whitespace=False)


@extend_schema_field(
    {"anyOf": [{"type": "boolean", "enum": [False]}, {"type": "array", "items": {"type": "string"}}], "nullable": True}
)
class _IndexField(serializers.JSONField):
    """false (don't embed), a list of field paths, or null (the configured fields)."""

    default_error_messages = {"invalid_index": "must be false, null or a list of field paths."}

    def to_internal_value(self, data: object) -> Any:
        if data is False or data is None:
            return data
        if isinstance(data, list) and all(isinstance(path, str) for path in data):
            return data
        self.fail("invalid_index")


class StorePutSerializer(serializers.Serializer):
    namespace = _Labels()
    key = StrictCharField(allow_blank=True, trim_whitespace=False)
    value = JSONObjectField()
    index = _IndexField(required=False, allow_null=True, default=None)
    ttl = serializers.FloatField(required=False, allow_null=True, min_value=0)


class StoreDeleteSerializer(serializers.Serializer):
    namespace = _Labels(required=False, default=list)
    key = StrictCharField(allow_blank=True, trim_whitespace=False)


class StoreSearchSerializer(serializers.Serializer):
    namespace_prefix = _Labels(required=False, allow_null=True, default=None)
    filter = JSONObjectField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, default=10, min_value=0, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    query = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None)
    refresh_ttl = serializers.BooleanField(required=False, allow_null=True, default=None)


class StoreNamespacesSerializer(serializers.Serializer):
    prefix = _Labels(required=False, default=None)
    suffix = _Labels(required=False, default=None)
    max_depth = serializers.IntegerField(required=False, min_value=1, default=None)
    limit = serializers.IntegerField(required=False, default=100, min_value=0, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat()


def item_json(item: Item) -> dict[str, Any]:
    """An Item (and `score` for search results) with timestamps in UTC, "+00:00" like the official server."""
    body = {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
    }
    if hasattr(item, "score"):
        body["score"] = item.score
    return body
