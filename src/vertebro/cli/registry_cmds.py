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
        table.add_row(finding.check, verdict, "" if finding.ok else finding.detail)
    console.print(table)
    errors = [f for f in findings if not f.ok and f.severity == "error"]
    if errors:
        raise VertebroError(f"the registry failed {len(errors)} integrity check(s); see the table above")
    console.print("[green]The registry is consistent.[/]")
