"""Import and export records become append-only like the history (``_append_only``): the export log
refuses UPDATE, DELETE and TRUNCATE; an import record is completed once (``running`` to a final status,
now including ``failed``) and never changed or deleted. History tables gain a TRUNCATE trigger on
PostgreSQL, and every audit trigger there fires always (even under ``session_replication_role``).
The triggers are installed last: SQLite rebuilds a table to change its CHECK constraint, and the
rebuilt table has no triggers."""

from django.conf import settings
from django.db import migrations, models

from ._append_only import history_triggers, install, log_triggers, remove

HISTORY_TABLES = (
    "registry_historicalpatient",
    "registry_historicalfracture",
    "registry_historicalprocedure",
    "registry_historicaltreatedlevel",
    "registry_historicalcomplication",
    "registry_historicalfollowup",
    "registry_historicalpainassessment",
    "registry_historicaleligibilityassessment",
    "registry_historicalsite",
    "registry_historicalstaffmembership",
)


def _protect(apps, schema_editor):  # noqa: ANN001
    vendor = schema_editor.connection.vendor
    install(schema_editor, history_triggers(vendor, HISTORY_TABLES) + log_triggers(vendor))


def _unprotect(apps, schema_editor):  # noqa: ANN001
    remove(schema_editor, log_triggers(schema_editor.connection.vendor))


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0006_unused_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='importbatch',
            name='import_status_known',
        ),
        migrations.AlterField(
            model_name='importbatch',
            name='status',
            field=models.CharField(choices=[('running', 'Running'), ('committed', 'Committed'), ('rejected', 'Rejected'), ('dry_run', 'Dry run'), ('failed', 'Failed')], default='running', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='importbatch',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'running'), ('status', 'committed'), ('status', 'rejected'), ('status', 'dry_run'), ('status', 'failed'), _connector='OR'), name='import_status_known', violation_error_message='unknown import status'),
        ),
        migrations.RunPython(_protect, _unprotect),
    ]
