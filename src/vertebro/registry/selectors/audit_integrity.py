"""The audit trail's own protections, as `vertebro db check` verifies them: every append-only trigger
on every audit table, present, as defined and enabled; on PostgreSQL, that the connected role cannot
drop or disable them (it owns no table and is no superuser); and imports that never finished."""

from __future__ import annotations

from django.apps import apps
from django.db import connection

from ..migrations._append_only import POSTGRES_FUNCTIONS, Trigger, expected_triggers, normalised
from ..models import ImportBatch
from .integrity import IntegrityFinding

SHOWN = 5


def history_tables() -> list[str]:
    registry = apps.get_app_config("registry")
    return sorted(m._meta.db_table for m in registry.get_models() if m.__name__.startswith("Historical"))


def _trigger_problems_sqlite(expected: list[Trigger]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        found = {name: (table, sql or "") for name, table, sql in cursor.fetchall()}
    problems = []
    for trigger in expected:
        if trigger.name not in found:
            problems.append(f"{trigger.name} missing")
        elif found[trigger.name][0] != trigger.table or normalised(found[trigger.name][1]) != normalised(trigger.sql):
            problems.append(f"{trigger.name} altered")
    return problems


def _trigger_problems_postgres(expected: list[Trigger]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgenabled, t.tgtype, p.proname, p.prosrc "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        )
        found = {(table, name): (enabled, kind, function, source) for table, name, enabled, kind, function, source in cursor.fetchall()}
    problems = []
    for trigger in expected:
        row = found.get((trigger.table, trigger.name))
        if row is None:
            problems.append(f"{trigger.name} missing")
            continue
        enabled, kind, function, source = row
        if enabled != "A":
            problems.append(f"{trigger.name} {'disabled' if enabled == 'D' else 'not always enabled'}")
        elif kind != trigger.pg_type or function != trigger.function:
            problems.append(f"{trigger.name} altered")
        elif normalised(source) != normalised(POSTGRES_FUNCTIONS[trigger.function]):
            problems.append(f"{trigger.name}: function {function}() altered")
    return problems


def trigger_finding() -> IntegrityFinding:
    """Every expected audit trigger, looked up by name and compared with its definition."""
    tables = history_tables()
    expected = expected_triggers(connection.vendor, tables)
    problems = (_trigger_problems_postgres if connection.vendor == "postgresql" else _trigger_problems_sqlite)(expected)
    audit_tables = len({t.table for t in expected})
    detail = (
        "; ".join(problems[:SHOWN]) + (f"; … {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
        + " — restore them as the tables' owner with `vertebro db protect`"
        if problems
        else f"{len(expected)} triggers on {audit_tables} audit tables"
    )
    return IntegrityFinding("audit tables are append-only (every trigger present, as defined, enabled)", len(problems), "error", detail)


def role_finding() -> IntegrityFinding | None:
    """PostgreSQL: the connected role owns no registry table and is no superuser (else it could drop
    or disable the audit triggers). A warning: the data are whole, the deployment is weaker."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, pg_has_role(current_user, n.nspowner, 'MEMBER'), "
            "pg_has_role(current_user, d.datdba, 'MEMBER') FROM pg_roles r, pg_namespace n, pg_database d "
            "WHERE r.rolname = current_user AND n.oid = current_schema()::regnamespace AND d.datname = current_database()"
        )
        role, superuser, owns_schema, owns_database = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY c.relname"
        )
        owned = [row[0] for row in cursor.fetchall()]
    powers = [
        *(["a superuser"] if superuser else []),
        *([f"owner of {len(owned)} tables (e.g. {', '.join(owned[:3])})"] if owned else []),
        *(["owner of the schema (it may drop its tables)"] if owns_schema else []),
        *(["owner of the database"] if owns_database else []),
    ]
    detail = (
        f"connected as {role}, {'; '.join(powers)}: it can drop or disable the audit triggers. Run the web app and "
        "the command line as a role that owns nothing (`vertebro db roles`, README \"Database roles\")"
        if powers
        else f"connected as {role}, which owns no table, schema or database and is no superuser"
    )
    problems = len(powers)
    return IntegrityFinding("the database role cannot drop or disable audit triggers (owns no table)", problems, "warning", detail)


def unfinished_imports_finding() -> IntegrityFinding:
    running = list(ImportBatch.objects.filter(status="running").select_related("user").order_by("started_at")[:SHOWN])
    count = ImportBatch.objects.filter(status="running").count()
    examples = "; ".join(
        f"import #{b.pk} of {b.file_name.rsplit('/', 1)[-1]} started {b.started_at:%Y-%m-%d %H:%M} by "
        f"{b.user.get_username() if b.user_id else b.os_user or 'an unknown user'}"
        for b in running
    )
    detail = (
        f"{examples} — still running, or interrupted (killed, power lost): an interrupted import wrote nothing"
        if count
        else ""
    )
    return IntegrityFinding("no import left unfinished", count, "warning", detail)


def audit_findings() -> list[IntegrityFinding]:
    findings = [trigger_finding()]
    if (role := role_finding()) is not None:
        findings.append(role)
    return findings
