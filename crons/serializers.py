"""Request validation and the Cron shape of the crons API (field for field as the official server)."""

from __future__ import annotations

from rest_framework import serializers

from agentplatform.api import IsoDateTimeField, JSONObjectField
from crons.models import Cron
from crons.selectors import CRON_SORT_FIELDS, SORT_ORDERS
from runs.payload import MultitaskStrategy

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

    class Meta:
        model = Cron
        fields = CRON_FIELDS

    def __init__(self, *args, select: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if select:
            for name in set(self.fields) - set(select):
                self.fields.pop(name)


class _ScheduleFields(serializers.Serializer):
    """The fields that shape the schedule; the rest of the body is the run payload, checked by the run engine."""

    timezone = serializers.CharField(required=False, allow_null=True)
    end_time = serializers.DateTimeField(required=False, allow_null=True)
    metadata = JSONObjectField(required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False, allow_null=True)
    on_run_completed = serializers.ChoiceField(choices=Cron.OnRunCompleted.values, required=False, allow_null=True)


class CronCreateSerializer(_ScheduleFields):
    assistant_id = serializers.CharField()
    schedule = serializers.CharField()
    multitask_strategy = serializers.ChoiceField(
        choices=[strategy.value for strategy in MultitaskStrategy], required=False, allow_null=True
    )


class CronPatchSerializer(_ScheduleFields):
    schedule = serializers.CharField(required=False)


class CronCountSerializer(serializers.Serializer):
    assistant_id = serializers.CharField(required=False, allow_null=True)
    thread_id = serializers.CharField(required=False, allow_null=True)
    metadata = JSONObjectField(required=False, allow_null=True)


class CronSearchSerializer(CronCountSerializer):
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    sort_by = serializers.ChoiceField(choices=CRON_SORT_FIELDS, required=False, allow_null=True)
    sort_order = serializers.ChoiceField(choices=SORT_ORDERS, required=False, allow_null=True)
    select = serializers.ListField(child=serializers.ChoiceField(choices=CRON_FIELDS), required=False, allow_null=True)
