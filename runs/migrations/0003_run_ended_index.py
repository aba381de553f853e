"""The index /metrics reads the runs that ended since its last scrape by (runs/metrics.py), built CONCURRENTLY."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("runs", "0002_admin_indexes")]
    operations = [
        AddIndexConcurrently(
            "run",
            models.Index(fields=["ended_at"], name="run_ended", condition=models.Q(ended_at__isnull=False)),
        ),
    ]
