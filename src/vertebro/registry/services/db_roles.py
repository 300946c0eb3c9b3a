"""PostgreSQL roles for a deployment whose web app and command line cannot erase the audit trail.

Two roles:

- the **owner** role owns the database, its schema, every table and the trigger functions. It runs
  the migrations (``vertebro init``) and nothing else; only it (or a superuser) could drop or disable
  a trigger.
- the **app** role is what the web app and the command line connect as (``DATABASE_URL``). It owns
  nothing, so ``DROP TRIGGER``, ``ALTER TABLE … DISABLE TRIGGER``, ``DROP TABLE`` and ``TRUNCATE`` are
  refused by PostgreSQL itself, whatever the triggers say. It may read every table and write the
  clinical, account and session tables; of the audit tables it may only INSERT (history, export
  log) and complete an import record (UPDATE, which the import trigger guards) — so an ``UPDATE`` or
  ``DELETE`` of the audit trail fails twice, on privilege and on trigger.

``vertebro db roles`` runs (or, with ``--sql``, prints) these statements as a superuser; it is
idempotent, and is run again after each ``vertebro init`` that adds tables (tables created later get
SELECT and INSERT for the app role by default privileges, nothing more).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction

from ...errors import VertebroError
from ..migrations._append_only import EXPORT_TABLE, IMPORT_TABLE, POSTGRES_FUNCTIONS
from ..selectors.audit_integrity import history_tables

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
READ_ONLY_TABLES = ("django_migrations",)


@dataclass(frozen=True)
class RolePlan:
    """The statements that set up ``owner`` and ``app``, and what the app role may do per table."""

    owner: str
    app: str
    statements: tuple[str, ...]
    privileges: dict[str, str]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _check_names(owner: str, app: str) -> None:
    for role in (owner, app):
        if not _ROLE_NAME.match(role):
            raise VertebroError(
                f"{role!r} is not a usable role name: lower-case letters, digits and underscores, starting with a letter"
            )
    if owner == app:
        raise VertebroError("the owner role and the app role must be two different roles: the app role must own nothing")


def app_privileges(tables: list[str]) -> dict[str, str]:
    """What the app role may do on each table."""
    audit = set(history_tables()) | {EXPORT_TABLE}
    privileges = {}
    for table in tables:
        if table in audit:
            privileges[table] = "SELECT, INSERT"
        elif table == IMPORT_TABLE:
            privileges[table] = "SELECT, INSERT, UPDATE"  # completing an import record: the trigger guards it
        elif table in READ_ONLY_TABLES:
            privileges[table] = "SELECT"
        else:
            privileges[table] = "SELECT, INSERT, UPDATE, DELETE"
    return privileges


def db_roles_plan(*, owner: str, app: str) -> RolePlan:
    """The statements for the connected PostgreSQL database (nothing is run)."""
    if connection.vendor != "postgresql":
        raise VertebroError("database roles are a PostgreSQL deployment; an SQLite registry is one file: protect the file itself")
    _check_names(owner, app)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.relname, s.relname FROM pg_class c JOIN pg_depend d ON d.refobjid = c.oid "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' WHERE d.deptype IN ('a', 'i') AND c.relnamespace = current_schema()::regnamespace"
        )
        sequences = cursor.fetchall()
    tables = sorted(connection.introspection.table_names())
    if IMPORT_TABLE not in tables:
        raise VertebroError("the registry has no tables yet: run `vertebro init` first, then set up the roles")
    privileges = app_privileges(tables)
    o, a = _quoted(owner), _quoted(app)
    statements = [
        *(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {_quoted(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
            for role in (owner, app)
        ),
        f"ALTER ROLE {a} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
        f"ALTER DATABASE {_quoted(database)} OWNER TO {o}",
        f"ALTER SCHEMA public OWNER TO {o}",
        f"GRANT CONNECT ON DATABASE {_quoted(database)} TO {a}",
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {a}",
        f"GRANT USAGE ON SCHEMA public TO {a}",
        *(f"ALTER TABLE {_quoted(t)} OWNER TO {o}" for t in tables),
        *(f"ALTER FUNCTION {function}() OWNER TO {o}" for function in POSTGRES_FUNCTIONS),
        *(f"REVOKE ALL ON TABLE {_quoted(t)} FROM PUBLIC, {a}" for t in tables),
        *(f"GRANT {p} ON TABLE {_quoted(t)} TO {a}" for t, p in privileges.items()),
        *(
            # Clinical imports reserve id ranges (setval); audit sequences may only be drawn from.
            f"GRANT USAGE, SELECT{', UPDATE' if 'DELETE' in privileges.get(table, '') else ''} ON SEQUENCE {_quoted(seq)} TO {a}"
            for table, seq in sorted(sequences)
            if table in privileges
        ),
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {a}",
    ]
    return RolePlan(owner, app, tuple(statements), privileges)


def db_roles_apply(*, owner: str, app: str) -> RolePlan:
    """Run :func:`db_roles_plan` in one transaction, as a superuser.

    Raises
    ------
    VertebroError
        When the connected role is no superuser, or the app role is a member of the owner role
        (it would then hold the owner's rights).
    """
    plan = db_roles_plan(owner=owner, app=app)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            raise VertebroError(
                "setting up the roles takes a PostgreSQL superuser (it creates roles and hands over ownership): "
                "connect as one, or print the statements with --sql and give them to your database administrator"
            )
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s", [app, owner, app])
        member = cursor.fetchone()
        if member and member[0]:
            raise VertebroError(f"the role {app} is a member of {owner}, so it holds the owner's rights: REVOKE {owner} FROM {app} first")
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in plan.statements:
            cursor.execute(statement)
    return plan
