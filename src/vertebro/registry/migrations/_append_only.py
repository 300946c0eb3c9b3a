"""Append-only history tables: an UPDATE or DELETE of a history row is refused by a database trigger,
whoever issues it (the app, the admin, a script, a SQL console). Used by the migrations that create
history tables; Django's migration loader skips this module (leading underscore)."""

MESSAGE = "vertebro audit history is append-only: history rows cannot be changed or deleted"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION vertebro_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def protect(schema_editor, tables):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION)
    for table in tables:
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


def unprotect(schema_editor, tables):
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        else:
            for action in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action};")
