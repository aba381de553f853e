from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

# The namespace the official server uses for the deterministic ids of system assistants.
SYSTEM_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def system_assistant_id(graph_id: str) -> uuid.UUID:
    """The id of a graph's system assistant, the same on every server (clients may hard-code it)."""
    return uuid.uuid5(SYSTEM_ASSISTANT_NAMESPACE, graph_id)


class Assistant(models.Model):
    """A graph plus the configuration to run it with; every change is kept as an AssistantVersion."""

    assistant_id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    graph_id = models.CharField(max_length=255, db_index=True)
    name = models.CharField(max_length=255, default="Untitled")
    description = models.TextField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    version = models.IntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [GinIndex(fields=["metadata"], name="assistant_metadata_gin", opclasses=["jsonb_path_ops"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.graph_id})"


class AssistantVersion(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="versions")
    version = models.IntegerField()
    graph_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, default="Untitled")
    description = models.TextField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assistant", "version"], name="assistant_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.assistant_id} v{self.version}"
