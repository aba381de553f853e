"""Indexes for the admin's run list and dashboard, built CONCURRENTLY so a big runs table stays writable."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("runs", "0001_initial")]
    operations = [
        AddIndexConcurrently("run", models.Index(fields=["created_at"], name="run_created")),
        AddIndexConcurrently("run", models.Index(fields=["status", "created_at"], name="run_status_created")),
        AddIndexConcurrently(
            "run",
            models.Index(
                fields=["ended_at"],
                name="run_failed_ended",
                condition=models.Q(status__in=["error", "timeout"]),
            ),
        ),
    ]
