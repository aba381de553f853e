from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from agentplatform.ids import uuid7
from assistants.models import Assistant
from threads.models import Thread


class Cron(models.Model):
    """A schedule that creates a run of `payload` at every `next_run_date` (new thread each time if thread is null)."""

    class OnRunCompleted(models.TextChoices):
        DELETE = "delete"
        KEEP = "keep"

    cron_id = models.UUIDField(primary_key=True, default=uuid7)
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="+", db_column="assistant_id")
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_column="thread_id"
    )
    user_id = models.CharField(max_length=255, null=True, blank=True)
    # Who created it, as runs carry their caller (access.users.auth_configurable): its runs are made as that user.
    # Null for crons the server made itself. Not part of the API's Cron shape.
    auth_user = models.JSONField(null=True, blank=True, editable=False)
    schedule = models.CharField(max_length=255)
    timezone = models.CharField(max_length=64, null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    # The create body as the official server keeps it: what each firing sends to run creation.
    payload = models.JSONField(default=dict, blank=True)
    next_run_date = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    on_run_completed = models.CharField(max_length=16, choices=OnRunCompleted.choices, null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, db_index=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(fields=["next_run_date"], name="cron_due", condition=Q(enabled=True)),
            GinIndex(fields=["metadata"], name="cron_metadata_gin", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.cron_id} ({self.schedule})"
