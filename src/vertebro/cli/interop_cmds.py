"""Data interchange commands: `vertebro import`, `vertebro export`, `vertebro redcap dictionary`."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import VertebroError
from .app import app, console, err_console

IMPORT_FORMATS = ("csv", "xlsx", "redcap", "fhir")
EXPORT_FORMATS = ("csv", "xlsx", "parquet", "dta", "sav", "fhir", "redcap")
SHOWN_PROBLEMS = 40
AS_HELP = (
    "The registry account this is done for (default: VERTEBRO_USER). Checked against its roles and sites as "
    "the web app checks them; the account and the operating-system user are both recorded."
)

redcap_app = typer.Typer(help="REDCap interchange: the data dictionary of vertebro's instruments.", no_args_is_help=True)
app.add_typer(redcap_app, name="redcap")


@contextmanager
def _progress(title: str):
    """A Rich progress bar; yields ``update(stage, done, total)``."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(title, total=1, stage="")

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, 1), stage=stage)

        yield update


def _problem_table(problems, *, title: str) -> Table:  # noqa: ANN001
    table = Table(title=title, title_justify="left")
    for column in ("line", "column", "value", "rule"):
        table.add_column(column, overflow="fold", style="red" if column == "rule" else None)
    for row in problems.head(SHOWN_PROBLEMS).itertuples(index=False):
        line = "" if row.line is None or str(row.line) == "<NA>" else str(row.line)
        table.add_row(line, escape(str(row.column)), escape(str(row.value)[:60]), escape(str(row.rule)))
    if len(problems) > SHOWN_PROBLEMS:
        table.caption = f"… and {len(problems) - SHOWN_PROBLEMS} more"
    return table


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="The file (or, for --format fhir, a folder of Bundle files or a bulk $export folder of NDJSON files: one batch) to import."),
    file_format: str = typer.Option(None, "--format", help=f"One of {', '.join(IMPORT_FORMATS)} (default: redcap with --dictionary or a REDCap header, else from the file name)."),
    dictionary: Path = typer.Option(None, "--dictionary", help="REDCap data dictionary of the project (--format redcap)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and count what would change; write nothing but the audit record."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid rows and list the skipped ones (default: any problem stops the whole import)."),
    site: str = typer.Option(None, "--site", help="Import for this site only: fills a missing site column, refuses rows of other sites."),
    unscheduled: bool = typer.Option(False, "--unscheduled", help="FHIR: import Observations after the last timepoint window (day 545) as unscheduled assessments (default: reported, with their date and day). A score more than 30 days before its procedure is refused either way."),
    as_user: str = typer.Option(None, "--as", help=AS_HELP + " Importing into a site needs the coordinator, investigator or admin role there."),
) -> None:
    """Import pain assessments in the flat format (CSV or XLSX), a REDCap export or FHIR R4 Bundles.

    Every row is checked with the registry's rules first (types, vocabularies, ranges, dates,
    timepoint windows, baseline before the procedure, one score per patient and timepoint, a patient's
    fixed fields agreeing), then against what the registry holds: a file never moves a patient to
    another site, adds a second procedure, changes which levels were treated, contradicts a recorded
    age or birth date, or opens a site the registry does not have (add it with `vertebro site add`).
    Any problem stops the import and writes nothing — the problems are shown and written to
    FILE.errors.csv — unless --skip-invalid is given. Re-importing a file changes nothing; other
    changed values are updated with history, and a blank cell keeps the recorded value. Each import
    is recorded before it starts (file hash, account and operating-system user, time, then its outcome
    and counts): that record is the audit entry of the rows it creates, and one that was interrupted
    stays visible as running.
    """
    from .registry_cmds import open_registry

    open_registry()
    from ..interop.actor import actor_for
    from ..interop.problems import ImportRejected

    actor = actor_for(as_user)

    chosen = (file_format or _guess_import_format(file, dictionary=dictionary)).lower()
    if chosen not in IMPORT_FORMATS:
        raise VertebroError(f"unknown import format {chosen!r}; use one of {', '.join(IMPORT_FORMATS)}")
    if unscheduled and chosen != "fhir":
        raise VertebroError("--unscheduled applies to FHIR Observations (--format fhir); a flat or REDCap file states each row's timepoint, `unscheduled` included")
    options = dict(dry_run=dry_run, skip_invalid=skip_invalid, user=actor.user, os_user=actor.os_user)
    if chosen == "fhir":
        options["unscheduled"] = unscheduled
    try:
        with _progress(f"Importing {file.name}") as update:
            outcome = _run_import(chosen, file, dictionary=dictionary, site=site, progress=update, **options)
    except ImportRejected as rejected:
        err_console.print(_problem_table(rejected.problems, title=f"Problems in {file.name} — nothing was imported"))
        raise
    _show_outcome(outcome, file=file, dry_run=dry_run)
    if chosen == "fhir":
        from ..interop.fhir_import import ignored_ndjson_files

        for ignored in ignored_ndjson_files(file):
            console.print(f"Note: {escape(ignored)} holds no Patient or Observation resources; its pain scores, if any, are not read.", highlight=False)


def _guess_import_format(path: Path, *, dictionary: Path | None) -> str:
    if path.is_dir() or path.suffix.lower() in (".json", ".ndjson"):
        return "fhir"
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return "xlsx"
    if dictionary is not None or _has_redcap_header(path):
        return "redcap"
    return "csv"


def _has_redcap_header(path: Path) -> bool:
    """A REDCap records export starts ``record_id,redcap_event_name`` (the flat format never does)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096).lstrip(b"\xef\xbb\xbf").replace(b'"', b"")
    except OSError:
        return False  # the importer names the file it cannot read
    return first.startswith(b"record_id,redcap_event_name")


def _run_import(file_format: str, file: Path, *, dictionary: Path | None, site: str | None, progress, **options):  # noqa: ANN001, ANN202
    if file_format in ("csv", "xlsx"):
        from ..interop.importer import import_flat_file

        return import_flat_file(path=file, file_format=file_format, site=site, progress=progress, **options)
    if file_format == "redcap":
        from ..interop.redcap_import import import_redcap_file

        if dictionary is None:
            raise VertebroError("a REDCap import needs the project's data dictionary: add --dictionary DD.csv")
        return import_redcap_file(path=file, dictionary=dictionary, site=site, progress=progress, **options)
    from ..interop.fhir_import import import_fhir_path

    return import_fhir_path(path=file, site=site, progress=progress, **options)


def _show_outcome(outcome, *, file: Path, dry_run: bool) -> None:  # noqa: ANN001
    counts = outcome.counts
    title = f"{'Dry run of' if dry_run else 'Imported'} {file.name} — import #{outcome.batch.pk}"
    table = Table(title=title, title_justify="left")
    for column in ("rows read", "created", "updated", "unchanged", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(*(str(n) for n in (outcome.batch.rows_read, counts.rows_created, counts.rows_updated, counts.rows_unchanged, outcome.batch.rows_skipped)))
    console.print(table)
    records = Table(title="Records", title_justify="left")
    for column in ("record", "created", "updated", "unchanged"):
        records.add_column(column, justify="left" if column == "record" else "right")
    for name, (created, updated, unchanged) in counts.records.items():
        records.add_row(name, str(created), str(updated), str(unchanged))
    console.print(records)
    if counts.changed_fields:
        changed = ", ".join(f"{name} ({n})" for name, n in counts.changed_fields.items())
        console.print(f"[bold]Values {'that would change' if dry_run else 'changed'}[/] (records): {changed}. Each change is in the record's history.", highlight=False)
    if len(outcome.problems):
        err_console.print(_problem_table(outcome.problems, title=f"Skipped rows (lines {_ranges(outcome.skipped_lines)})"))
        err_console.print(f"The full list is in {outcome.report}.")
    if dry_run:
        console.print(f"[yellow]Dry run: no record was changed; only its audit entry (import #{outcome.batch.pk}, status dry_run) was written.[/]")


def _ranges(lines: list[int]) -> str:
    text = ", ".join(map(str, lines[:20]))
    return text + (f", … ({len(lines)} rows)" if len(lines) > 20 else "")


@app.command("export")
def export(
    file_format: str = typer.Option(..., "--format", help=f"One of {', '.join(EXPORT_FORMATS)}."),
    out: Path = typer.Option(..., "--out", help="File to write (for fhir: a folder, one Bundle per patient)."),
    deidentified: bool = typer.Option(False, "--deidentified", help="HIPAA Safe Harbor: drop identifiers, keyed-hash study ids, dates as days from the index procedure, ages over 89 as 90."),
    site: list[str] = typer.Option(None, "--site", help="Only these sites (repeat the option for several)."),
    as_user: str = typer.Option(None, "--as", help=AS_HELP + " An account exports its own sites only (all of them without --site); analysts de-identified only."),
) -> None:
    """Export the registry: flat CSV/XLSX (spreadsheet formulas neutralised), Parquet, Stata (.dta) and
    SPSS (.sav) with variable and value labels, FHIR R4 Bundles or a REDCap records file.

    Every export is logged before it is written (account and operating-system user, when, format,
    identified or not, destination, rows). De-identified rows come in the order of their keyed hashes,
    which says nothing about the study ids. A FHIR export writes into a new or empty folder only.
    """
    from .registry_cmds import open_registry

    open_registry()
    from ..interop.actor import actor_for
    from ..interop.export import export_registry

    actor = actor_for(as_user)

    chosen = file_format.lower()
    if chosen not in EXPORT_FORMATS:
        raise VertebroError(f"unknown export format {chosen!r}; use one of {', '.join(EXPORT_FORMATS)}")
    with _progress(f"Exporting {chosen}") as update:
        update("writing", 0, 1)
        result = export_registry(file_format=chosen, out=out, deidentified=deidentified, site_codes=site or None,
                                 user=actor.user, os_user=actor.os_user)
        update("done", 1, 1)
    kind = "de-identified" if deidentified else "identified (contains protected health information)"
    console.print(f"[green]Exported[/] {result.rows} rows as {chosen} to {result.path} — {kind}; logged as export #{result.log.pk}.")
    if result.later_procedures:
        console.print(
            f"[yellow]{result.later_procedures} later procedure(s)[/] (after a patient's index procedure) and their scores "
            "are not in the export: every export format describes each patient's index procedure.",
            highlight=False,
        )


@redcap_app.command("dictionary")
def redcap_dictionary(
    out: Path = typer.Option(..., "--out", help="Where to write the data dictionary (CSV)."),
) -> None:
    """Write the REDCap data dictionary of vertebro's instruments (the 18 columns REDCap expects, with
    validation types and choices), plus the events (one per timepoint) and instrument-designation files
    of its longitudinal design, so a site can capture in REDCap and send the export back with
    `vertebro import --format redcap --dictionary DD.csv RECORDS.csv`."""
    from ..interop.redcap_project import write_dictionary

    for path in write_dictionary(out):
        console.print(f"[green]Wrote[/] {path}")
