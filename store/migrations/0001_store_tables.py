"""LangGraph's store tables (and, with store.index configured, its pgvector table), plus the admin's view."""

from django.db import migrations, models


def create_store_tables(apps, schema_editor):
    from agentplatform.persistence import database_conninfo
    from store.backend import setup_store_tables

    setup_store_tables(database_conninfo(schema_editor.connection.alias))


class Migration(migrations.Migration):
    atomic = False  # the store creates its indexes CONCURRENTLY
    initial = True
    dependencies = []
    operations = [
        migrations.RunPython(create_store_tables, migrations.RunPython.noop),
        migrations.RunSQL(
            """
            CREATE OR REPLACE VIEW store_item_view AS
            SELECT json_build_array(prefix, key)::text AS id, prefix, key, value, created_at, updated_at,
                   expires_at, ttl_minutes
            FROM store
            """,
            "DROP VIEW IF EXISTS store_item_view",
        ),
        migrations.CreateModel(
            name="StoreItem",
            fields=[
                ("id", models.TextField(primary_key=True, serialize=False)),
                ("prefix", models.TextField()),
                ("key", models.TextField()),
                ("value", models.JSONField()),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField(null=True)),
                ("ttl_minutes", models.IntegerField(null=True)),
            ],
            options={
                "managed": False,
                "db_table": "store_item_view",
                "ordering": ["-updated_at"],
                "verbose_name": "store item",
            },
        ),
    ]
