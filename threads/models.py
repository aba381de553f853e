from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from agentplatform.ids import uuid7


class Thread(models.Model):
    """A conversation; its graph state lives in LangGraph's checkpoint tables under the same thread_id."""

    class Status(models.TextChoices):
        IDLE = "idle"
        BUSY = "busy"
        INTERRUPTED = "interrupted"
        ERROR = "error"

    thread_id = models.UUIDField(primary_key=True, default=uuid7)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    state_updated_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE, db_index=True)
    config = models.JSONField(default=dict, blank=True)
    values = models.JSONField(null=True, blank=True)
    interrupts = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Time to live, set by `ttl` on create/update or checkpointer.ttl in langgraph.json.
    ttl_minutes = models.FloatField(null=True, blank=True)
    ttl_strategy = models.CharField(max_length=16, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        indexes = [GinIndex(fields=["metadata"], name="thread_metadata_gin", opclasses=["jsonb_path_ops"])]

    def __str__(self) -> str:
        return str(self.thread_id)
