"""Append-only audit tables, enforced by database triggers whoever writes (the app, the admin, a
script, a SQL console):

- **history tables** (django-simple-history): an UPDATE, DELETE or — on PostgreSQL — TRUNCATE is
  refused (row triggers do not fire on TRUNCATE, so it has a statement trigger of its own);
- **export log** (``registry_exportlog``): the same;
- **import records** (``registry_importbatch``): a guarded state machine. An import is recorded as
  ``running`` before it reads or writes anything (so one that is killed leaves a trace), and that
  row may be completed exactly once — ``running`` to a final status (committed, rejected, dry run,
  failed) with its finish time and counts — never changed again, never deleted or truncated.

On PostgreSQL every trigger is ``ENABLE ALWAYS``, so ``session_replication_role = replica`` does not
switch it off either. Only the tables' owner can drop or disable a trigger: run the web app and the
command line as a role that does not own them (``vertebro db roles``); ``vertebro db check`` verifies
every trigger below, its definition included.

Used by the migrations that create audit tables and by ``vertebro db check``/``db protect``; Django's
migration loader skips this module (leading underscore). Installing is idempotent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MESSAGE = "vertebro audit history is append-only: history rows cannot be changed or deleted"
LOG_MESSAGE = (
    "vertebro import and export records are append-only: an import record is completed once and never "
    "changed again, and neither kind can be deleted"
)
IMPORT_TABLE = "registry_importbatch"
EXPORT_TABLE = "registry_exportlog"
#: What an import record says about who imported which file and when: fixed once written.
IMPORT_FIXED_COLUMNS = ("id", "file_name", "file_sha256", "file_format", "user_id", "os_user", "started_at")

HISTORY_FUNCTION = "vertebro_history_append_only"
LOG_FUNCTION = "vertebro_audit_log_append_only"
IMPORT_FUNCTION = "vertebro_import_batch_finish_once"
#: The body of each PostgreSQL trigger function (what ``pg_proc.prosrc`` holds).
POSTGRES_FUNCTIONS = {
    HISTORY_FUNCTION: f"""
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
""",
    LOG_FUNCTION: f"""
BEGIN
    RAISE EXCEPTION '{LOG_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
""",
    # Every column but the status, the finish time and the counts stays as it was (to_jsonb compares
    # all of them, columns added later included).
    IMPORT_FUNCTION: f"""
BEGIN
    IF OLD.status = 'running' AND NEW.status <> 'running' AND NEW.finished_at IS NOT NULL
       AND (to_jsonb(NEW) - 'status' - 'finished_at' - 'rows_read' - 'rows_created' - 'rows_updated'
            - 'rows_unchanged' - 'rows_skipped')
         = (to_jsonb(OLD) - 'status' - 'finished_at' - 'rows_read' - 'rows_created' - 'rows_updated'
            - 'rows_unchanged' - 'rows_skipped') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{LOG_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
""",
}
# pg_trigger.tgtype bits
_ROW, _BEFORE, _DELETE, _UPDATE, _TRUNCATE = 1, 2, 8, 16, 32


@dataclass(frozen=True)
class Trigger:
    """One expected trigger.

    Attributes
    ----------
    table, name : str
    sql : str
        The statement that creates it (SQLite keeps it verbatim in ``sqlite_master``).
    pg_type : int
        PostgreSQL's ``tgtype`` bits (timing, level, events); 0 on SQLite.
    function : str
        The PostgreSQL trigger function it runs; empty on SQLite.
    """

    table: str
    name: str
    sql: str
    pg_type: int = 0
    function: str = ""


def _sqlite_refusal(table: str, name: str, event: str, message: str, when: str = "") -> Trigger:
    condition = f" WHEN {when}" if when else ""
    sql = f"CREATE TRIGGER {name} BEFORE {event} ON {table}{condition} BEGIN SELECT RAISE(ABORT, '{message}'); END"
    return Trigger(table, name, sql)


def _postgres_trigger(table: str, name: str, *, events: str, row: bool, function: str) -> Trigger:
    level = "ROW" if row else "STATEMENT"
    sql = f"CREATE OR REPLACE TRIGGER {name} BEFORE {events} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()"
    bits = _BEFORE | (_ROW if row else 0)
    bits |= (_UPDATE if "UPDATE" in events else 0) | (_DELETE if "DELETE" in events else 0) | (_TRUNCATE if "TRUNCATE" in events else 0)
    return Trigger(table, name, sql, bits, function)


def _append_only(vendor: str, table: str, function: str, message: str) -> list[Trigger]:
    if vendor == "postgresql":
        return [
            _postgres_trigger(table, f"{table}_append_only", events="UPDATE OR DELETE", row=True, function=function),
            _postgres_trigger(table, f"{table}_no_truncate", events="TRUNCATE", row=False, function=function),
        ]
    return [_sqlite_refusal(table, f"{table}_no_{event.lower()}", event, message) for event in ("UPDATE", "DELETE")]


def _import_state_machine(vendor: str) -> list[Trigger]:
    table = IMPORT_TABLE
    if vendor == "postgresql":
        return [
            _postgres_trigger(table, f"{table}_finish_once", events="UPDATE", row=True, function=IMPORT_FUNCTION),
            _postgres_trigger(table, f"{table}_no_delete", events="DELETE", row=True, function=LOG_FUNCTION),
            _postgres_trigger(table, f"{table}_no_truncate", events="TRUNCATE", row=False, function=LOG_FUNCTION),
        ]
    allowed = " AND ".join(
        ["OLD.status = 'running'", "NEW.status <> 'running'", "NEW.finished_at IS NOT NULL"]
        + [f"NEW.{column} IS OLD.{column}" for column in IMPORT_FIXED_COLUMNS]
    )
    return [
        _sqlite_refusal(table, f"{table}_finish_once", "UPDATE", LOG_MESSAGE, when=f"NOT ({allowed})"),
        _sqlite_refusal(table, f"{table}_no_delete", "DELETE", LOG_MESSAGE),
    ]


def history_triggers(vendor: str, tables) -> list[Trigger]:  # noqa: ANN001
    return [t for table in tables for t in _append_only(vendor, table, HISTORY_FUNCTION, MESSAGE)]


def log_triggers(vendor: str) -> list[Trigger]:
    return _append_only(vendor, EXPORT_TABLE, LOG_FUNCTION, LOG_MESSAGE) + _import_state_machine(vendor)


def expected_triggers(vendor: str, history_tables) -> list[Trigger]:  # noqa: ANN001
    """Every trigger the audit tables must carry on ``vendor`` (``vertebro db check`` looks for each)."""
    return history_triggers(vendor, history_tables) + log_triggers(vendor)


def normalised(sql: str) -> str:
    """SQL text compared without regard to spacing, case or a trailing semicolon."""
    return re.sub(r"\s+", " ", sql).strip().rstrip(";").strip().lower()


def _check_vendor(vendor: str) -> None:
    if vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"vertebro supports SQLite and PostgreSQL, not {vendor}")


def install(schema_editor, triggers: list[Trigger]) -> None:  # noqa: ANN001
    """Create (or re-create, unchanged) ``triggers`` and, on PostgreSQL, their functions."""
    vendor = schema_editor.connection.vendor
    _check_vendor(vendor)
    if vendor == "postgresql":
        for function in dict.fromkeys(t.function for t in triggers):
            schema_editor.execute(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $${POSTGRES_FUNCTIONS[function]}$$ LANGUAGE plpgsql;"
            )
    for trigger in triggers:
        if vendor == "postgresql":
            schema_editor.execute(trigger.sql + ";")
            schema_editor.execute(f"ALTER TABLE {trigger.table} ENABLE ALWAYS TRIGGER {trigger.name};")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger.name};")
            schema_editor.execute(trigger.sql + ";")


def remove(schema_editor, triggers: list[Trigger]) -> None:  # noqa: ANN001
    vendor = schema_editor.connection.vendor
    for trigger in triggers:
        where = f" ON {trigger.table}" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger.name}{where};")


def protect(schema_editor, tables):  # noqa: ANN001, ANN201
    """Make history ``tables`` append-only (migrations that create history tables call this)."""
    install(schema_editor, history_triggers(schema_editor.connection.vendor, tables))


def unprotect(schema_editor, tables):  # noqa: ANN001, ANN201
    remove(schema_editor, history_triggers(schema_editor.connection.vendor, tables))
