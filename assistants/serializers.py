"""Request validation and response shapes of the assistants API (field for field as the official server)."""

from __future__ import annotations

from rest_framework import serializers

from agentplatform.api import IsoDateTimeField, JSONObjectField, StrictCharField
from assistants.models import Assistant, AssistantVersion
from assistants.selectors import ASSISTANT_SORT_FIELDS, SORT_ORDERS

# In the order the official server writes them.
ASSISTANT_SELECT_FIELDS = (
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "metadata",
    "name",
    "created_at",
    "updated_at",
    "version",
    "description",
)


class AssistantSerializer(serializers.ModelSerializer):
    created_at = IsoDateTimeField(read_only=True)
    updated_at = IsoDateTimeField(read_only=True)

    class Meta:
        model = Assistant
        fields = ASSISTANT_SELECT_FIELDS

    def __init__(self, *args, select: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if select:
            for name in set(self.fields) - set(select):
                self.fields.pop(name)


class AssistantVersionSerializer(serializers.ModelSerializer):
    assistant_id = serializers.UUIDField(read_only=True)
    created_at = IsoDateTimeField(read_only=True)

    class Meta:
        model = AssistantVersion
        fields = (
            "assistant_id",
            "version",
            "graph_id",
            "config",
            "context",
            "metadata",
            "created_at",
            "name",
            "description",
        )


class ConfigField(JSONObjectField):
    """A RunnableConfig: an object whose `tags`, `recursion_limit` and `configurable` have the right types."""

    def to_internal_value(self, data: object) -> dict:
        config = super().to_internal_value(data)
        tags = config.get("tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise serializers.ValidationError("tags must be a list of strings.")
        limit = config.get("recursion_limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise serializers.ValidationError("recursion_limit must be an integer.")
        if config.get("configurable") is not None and not isinstance(config["configurable"], dict):
            raise serializers.ValidationError("configurable must be an object.")
        return config


class AssistantCreateSerializer(serializers.Serializer):
    graph_id = StrictCharField()
    assistant_id = StrictCharField(required=False)
    config = ConfigField(required=False)
    context = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    if_exists = serializers.ChoiceField(choices=("raise", "do_nothing"), required=False, default="raise")
    name = StrictCharField(required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_null=True, allow_blank=True)


class AssistantPatchSerializer(serializers.Serializer):
    graph_id = StrictCharField(required=False)
    config = ConfigField(required=False)
    context = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    name = StrictCharField(required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True)


class AssistantCountSerializer(serializers.Serializer):
    metadata = JSONObjectField(required=False)
    graph_id = StrictCharField(required=False)
    name = StrictCharField(required=False, allow_blank=True)


class AssistantSearchSerializer(AssistantCountSerializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    sort_by = serializers.ChoiceField(choices=ASSISTANT_SORT_FIELDS, required=False)
    sort_order = serializers.ChoiceField(choices=SORT_ORDERS, required=False)
    select = serializers.ListField(child=serializers.ChoiceField(choices=ASSISTANT_SELECT_FIELDS), required=False)


class AssistantVersionsSearchSerializer(serializers.Serializer):
    metadata = JSONObjectField(required=False, allow_null=True)
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


class AssistantVersionChangeSerializer(serializers.Serializer):
    version = serializers.IntegerField()
