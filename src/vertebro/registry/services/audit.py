"""Installing the audit tables' append-only triggers (see ``migrations/_append_only``)."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from ..migrations._append_only import EXPORT_TABLE, IMPORT_TABLE, expected_triggers, install
from ..selectors.audit_integrity import history_tables


def audit_triggers_install(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """(Re)create every audit trigger, unchanged where it is intact; returns how many.

    Idempotent. Run after every migration (``post_migrate``): SQLite rebuilds a table to alter it, and
    the rebuilt table has none of the old one's triggers. Tables not created yet are left alone. On
    PostgreSQL only the tables' owner may do this.
    """
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    if not {IMPORT_TABLE, EXPORT_TABLE} <= existing:
        return 0
    triggers = [t for t in expected_triggers(connection.vendor, history_tables()) if t.table in existing]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        install(_Statements(connection, cursor), triggers)
    return len(triggers)


class _Statements:
    """What ``install`` needs of a schema editor (its connection, ``execute``), on a plain cursor:
    SQLite's schema editor refuses to run inside a transaction, and this runs inside one."""

    def __init__(self, connection, cursor):  # noqa: ANN001
        self.connection, self._cursor = connection, cursor

    def execute(self, sql: str) -> None:
        self._cursor.execute(sql)


def reinstall_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, plan=None, **kwargs) -> None:  # noqa: ANN001
    """``post_migrate`` receiver: a migration that rebuilt an audit table gets its triggers back."""
    if plan:  # nothing to do when no migration ran
        audit_triggers_install(using=using)
