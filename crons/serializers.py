"""Request validation and the Cron shape of the crons API (field for field as the official server)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agentplatform.api import IsoDateTimeField, JSONObjectField, StrictCharField
from crons.models import Cron
from crons.selectors import CRON_SORT_FIELDS, SORT_ORDERS
from runs.payload import RUN_CREATE_FIELDS, Body, MultitaskStrategy

CRON_FIELDS = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "user_id",
    "schedule",
    "timezone",
    "end_time",
    "payload",
    "next_run_date",
    "metadata",
    "on_run_completed",
    "enabled",
    "created_at",
    "updated_at",
)


class CronSerializer(serializers.ModelSerializer):
    assistant_id = serializers.UUIDField(read_only=True)
    thread_id = serializers.UUIDField(read_only=True)
    end_time = IsoDateTimeField(read_only=True)
    next_run_date = IsoDateTimeField(read_only=True)
    created_at = IsoDateTimeField(read_only=True)
    updated_at = IsoDateTimeField(read_only=True)
    # The official server answers "" for a cron created without an authenticated user, not null.
    user_id = serializers.SerializerMethodField()

    class Meta:
        model = Cron
        fields = CRON_FIELDS

    def get_user_id(self, cron: Cron) -> str:
        return cron.user_id or ""

    def __init__(self, *args, select: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if select:
            for name in set(self.fields) - set(select):
                self.fields.pop(name)


# The run fields a cron's body may carry (official CronCreate): documented here as the run contract documents
# them, and validated by it (crons.services checks the payload as a run body).
CRON_RUN_FIELDS = (
    "config",
    "context",
    "durability",
    "interrupt_after",
    "interrupt_before",
    "stream_mode",
    "stream_resumable",
    "stream_subgraphs",
    "webhook",
)
# A cron's input is an object or a list of objects (one run per firing either way).
_CRON_INPUT = {"anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}


class _Passed(serializers.Field):
    """A value the run contract validates; the serializer only documents it and refuses null."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def _run_field(name: str) -> serializers.Field:
    schema = next(field for field in RUN_CREATE_FIELDS if field.name == name).openapi(Body.STATELESS)
    return extend_schema_field(schema)(type("CronRunField", (_Passed,), {}))(required=False)


@extend_schema_field(_CRON_INPUT)
class _CronInputField(_Passed):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) or (isinstance(data, list) and all(isinstance(item, dict) for item in data)):
            return data
        raise serializers.ValidationError("must be an object or a list of objects.")


class _ScheduleFields(serializers.Serializer):
    """The fields that shape the schedule; the rest of the body is the run payload, checked by the run engine."""

    timezone = StrictCharField(required=False)
    end_time = serializers.DateTimeField(required=False)
    metadata = JSONObjectField(required=False)
    enabled = serializers.BooleanField(required=False)
    input = _CronInputField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **{name: _run_field(name) for name in CRON_RUN_FIELDS}}


# What the views hand to the cron services; the rest stays in the body, the run payload.
SCHEDULE_FIELDS = ("assistant_id", "schedule", "timezone", "end_time", "metadata", "enabled", "on_run_completed")


class CronCreateSerializer(_ScheduleFields):
    """POST /runs/crons (stateless): a new thread per firing, kept or deleted after it (on_run_completed)."""

    assistant_id = StrictCharField()
    schedule = StrictCharField()
    on_run_completed = serializers.ChoiceField(choices=Cron.OnRunCompleted.values, required=False)


class ThreadCronCreateSerializer(_ScheduleFields):
    """POST /threads/{thread_id}/runs/crons: every firing runs on the thread."""

    assistant_id = StrictCharField()
    schedule = StrictCharField()
    multitask_strategy = serializers.ChoiceField(
        choices=[strategy.value for strategy in MultitaskStrategy], required=False
    )


class CronPatchSerializer(_ScheduleFields):
    schedule = StrictCharField(required=False)
    end_time = serializers.DateTimeField(required=False, allow_null=True)  # null clears it
    on_run_completed = serializers.ChoiceField(choices=Cron.OnRunCompleted.values, required=False)


class CronCountSerializer(serializers.Serializer):
    assistant_id = StrictCharField(required=False)
    thread_id = StrictCharField(required=False)
    metadata = JSONObjectField(required=False)


class CronSearchSerializer(CronCountSerializer):
    enabled = serializers.BooleanField(required=False)
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    sort_by = serializers.ChoiceField(choices=CRON_SORT_FIELDS, required=False)
    sort_order = serializers.ChoiceField(choices=SORT_ORDERS, required=False)
    select = serializers.ListField(child=serializers.ChoiceField(choices=CRON_FIELDS), required=False)
