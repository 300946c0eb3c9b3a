"""Make every history table append-only at the database level: an UPDATE or DELETE of a history row
is refused by a trigger, whoever issues it (the app, the admin, a script, a SQL console)."""

from django.db import migrations

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
MESSAGE = "vertebro audit history is append-only: history rows cannot be changed or deleted"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION vertebro_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION)
    for table in HISTORY_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION vertebro_history_append_only();"
            )
        elif vendor == "sqlite":
            for action in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
                )
        else:
            raise RuntimeError(f"vertebro supports SQLite and PostgreSQL, not {vendor}")


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in HISTORY_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        else:
            for action in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action};")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS vertebro_history_append_only();")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
