"""LangGraph's checkpoint tables hold every thread's graph state; create them with the rest of the schema."""

from django.db import migrations


def create_checkpoint_tables(apps, schema_editor):
    from agentplatform.persistence import database_conninfo, setup_checkpointer_tables

    setup_checkpointer_tables(database_conninfo(schema_editor.connection.alias))


class Migration(migrations.Migration):
    atomic = False  # the checkpointer creates its indexes CONCURRENTLY
    dependencies = [("threads", "0001_initial")]
    operations = [migrations.RunPython(create_checkpoint_tables, migrations.RunPython.noop)]
