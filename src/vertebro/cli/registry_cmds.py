"""Registry commands: init, manage, db check."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..errors import VertebroError
from .app import app, console

db_app = typer.Typer(help="Registry database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def open_registry(*, migrate: bool = False) -> str:
    """Start Django and make sure the registry is reachable (and migrated, if asked).

    Returns a short description of the database, safe to print (no password).
    """
    from django.core.exceptions import ImproperlyConfigured

    from ..registry.bootstrap import setup_django

    try:
        setup_django()
    except ImproperlyConfigured as exc:
        raise VertebroError(str(exc)) from exc
    from django.db import connection
    from django.db.utils import OperationalError

    settings = connection.settings_dict
    sqlite = connection.vendor == "sqlite"
    where = settings["NAME"] if sqlite else f"{settings['HOST'] or 'localhost'}/{settings['NAME']}"
    if sqlite and not connection.is_in_memory_db():
        path = Path(str(settings["NAME"]))
        if migrate:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():  # connecting would create an empty file and leave it behind
            raise VertebroError(f"there is no registry at {path}: run `vertebro init` to create one, or point DATABASE_URL at the registry")
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        what = "check the path in DATABASE_URL" if sqlite else "check DATABASE_URL or start the database server"
        raise VertebroError(f"cannot open the registry database {where} ({str(exc).strip().splitlines()[0]}); {what}") from exc
    from django.core.management import call_command

    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    elif pending := _unapplied_migrations(connection):
        raise VertebroError(
            f"the registry at {where} is not initialised or not up to date ({pending} migration(s) to apply): run `vertebro init`"
        )
    return f"{connection.vendor} {where}"


def _unapplied_migrations(connection) -> int:  # noqa: ANN001
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@app.command()
def init() -> None:
    """Create the registry database, or bring an existing one up to date (migrations)."""
    where = open_registry(migrate=True)
    console.print(f"[green]Registry ready:[/] {where}")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def manage(ctx: typer.Context) -> None:
    """Run a Django management command, e.g. `vertebro manage check --deploy` or `vertebro manage createsuperuser`."""
    from django.core.management import execute_from_command_line

    from ..registry.bootstrap import setup_django

    setup_django()
    execute_from_command_line(["vertebro manage", *ctx.args])


@db_app.command("check")
def db_check() -> None:
    """Check the registry's integrity: the database file, foreign keys, cross-table agreement,
    timepoint windows, the append-only audit triggers and unfinished imports. Exits 1 on any error."""
    where = open_registry()
    from ..registry.selectors.integrity import registry_integrity_findings

    findings = registry_integrity_findings()
    table = Table(title=f"Registry integrity — {where}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for finding in findings:
        if finding.ok:
            verdict = "[green]ok[/]"
        elif finding.severity == "warning":
            verdict = f"[yellow]{finding.problems} to look at[/]"
        else:
            verdict = f"[bold red]{finding.problems} problem(s)[/]"
        table.add_row(finding.check, verdict, finding.detail)
    console.print(table)
    errors = [f for f in findings if not f.ok and f.severity == "error"]
    if errors:
        raise VertebroError(f"the registry failed {len(errors)} integrity check(s); see the table above")
    console.print("[green]The registry is consistent.[/]")


@db_app.command("protect")
def db_protect() -> None:
    """(Re)install the append-only triggers of every audit table (history, import and export records),
    unchanged where they are intact — what `vertebro db check` asks for when one is missing or altered.
    On PostgreSQL, connect as the tables' owner."""
    where = open_registry()
    from django.db import DatabaseError

    from ..registry.services.audit import audit_triggers_install

    try:
        count = audit_triggers_install()
    except DatabaseError as exc:
        raise VertebroError(
            f"could not install the audit triggers ({str(exc).strip().splitlines()[0]}): connect as the owner of the tables"
        ) from exc
    console.print(f"[green]{count} audit triggers in place[/] — {where}.")


@db_app.command("roles")
def db_roles(
    owner: str = typer.Option("vertebro_owner", "--owner", help="Role that owns the tables and runs `vertebro init`."),
    app_role: str = typer.Option("vertebro_app", "--app", help="Role the web app and the command line connect as; it owns nothing."),
    sql: bool = typer.Option(False, "--sql", help="Print the SQL script instead of running it (for a database administrator)."),
) -> None:
    """PostgreSQL: set up an owner role (owns the database, schema, tables and trigger functions; runs
    migrations) and an app role (what DATABASE_URL of the web app and CLI names) that owns nothing, so
    that it can neither drop nor disable the audit triggers, nor truncate, update or delete the audit
    tables. Run it as a superuser after `vertebro init`, and again after each upgrade; idempotent.
    Passwords are set apart (`ALTER ROLE … PASSWORD`), never on a command line."""
    open_registry()
    from ..registry.services.db_roles import db_roles_apply, db_roles_plan

    if sql:
        plan = db_roles_plan(owner=owner, app=app_role)
        print(f"-- vertebro database roles: owner {owner}, app {app_role} (run as a superuser, in one transaction)")
        print("BEGIN;")
        for statement in plan.statements:
            print(statement + ";")
        print("COMMIT;")
        return
    plan = db_roles_apply(owner=owner, app=app_role)
    console.print(
        f"[green]Roles ready:[/] {owner} owns {len(plan.privileges)} tables and runs `vertebro init`; "
        f"{app_role} owns nothing. Point the web app and the command line at {app_role} (DATABASE_URL), give both "
        "roles passwords (ALTER ROLE … PASSWORD), and run `vertebro db check` as the app role.",
        highlight=False,
    )
