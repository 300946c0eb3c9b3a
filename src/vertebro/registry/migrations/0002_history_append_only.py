"""Make the clinical history tables append-only at the database level (see ``_append_only``)."""

from django.db import migrations

from ._append_only import protect, unprotect

HISTORY_TABLES = (
    "registry_historicalpatient",
    "registry_historicalfracture",
    "registry_historicalprocedure",
    "registry_historicaltreatedlevel",
    "registry_historicalcomplication",
    "registry_historicalfollowup",
    "registry_historicalpainassessment",
    "registry_historicaleligibilityassessment",
)


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: protect(schema_editor, HISTORY_TABLES),
            lambda apps, schema_editor: unprotect(schema_editor, HISTORY_TABLES),
        )
    ]
