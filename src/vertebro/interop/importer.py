"""Importing a table of flat rows: validate everything, then write everything or nothing.

Every row is checked on its own and across rows (:mod:`.flat_validate`), then against what the
registry already holds about the same patients (:mod:`vertebro.registry.selectors.flat_conflicts`:
site, procedure date, levels, age and birth date); all of it lands in one error report.

Every import leaves an :class:`ImportBatch` (file hash, account and operating-system user, time,
counts, status), written ``running`` before the checks start and completed once: ``committed``,
``rejected`` (problems found, nothing written), ``dry_run`` (what would change, nothing written) or
``failed`` (stopped on an error, nothing written); one killed half-way stays ``running``. An import
for a registry account (``user``) may only write to the sites where the account has an editing role:
other rows are refused like any invalid row.
The CSV/XLSX, REDCap and FHIR importers all end here, so they share one set of rules and one
error report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.db import DatabaseError, transaction

from ..errors import VertebroError
from ..registry.models import ImportBatch
from ..registry.selectors.flat_conflicts import flat_registry_conflicts
from ..registry.services.flat_import import ImportCounts, flat_frame_import
from ..registry.services.imports import import_batch_finish, import_batch_start
from .actor import Actor, actor_of
from .flat_validate import FlatValidation, validate_flat_frame
from .problems import ImportRejected, combine, errors_path, no_problems, write_problems
from .tabular import Table, file_sha256, read_table

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did.

    Attributes
    ----------
    batch : ImportBatch
        The audit record of this import.
    counts : ImportCounts
        Rows created, updated, unchanged (for a dry run: what would have been).
    problems : pandas.DataFrame
        ``line, column, value, rule`` of the rows skipped (``--skip-invalid``); empty otherwise.
    report : Path or None
        The CSV error report written beside the input, if there were problems.
    """

    batch: ImportBatch
    counts: ImportCounts
    problems: pd.DataFrame
    report: Path | None

    @property
    def skipped_lines(self) -> list[int]:
        return sorted(int(x) for x in self.problems["line"].dropna().unique())


class _DryRun(Exception):
    """Raised inside the import transaction to roll a dry run back."""


def import_flat_file(
    *,
    path: Path,
    file_format: str | None = None,
    site: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    user=None,  # noqa: ANN001
    os_user: str | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a CSV or XLSX file of the flat format (see :func:`import_flat_table`)."""
    report = progress or (lambda stage, done, total: None)
    report("reading", 0, 1)
    table = read_table(path, file_format)
    return import_flat_table(
        table=table,
        source=path,
        file_format=file_format or path.suffix.lstrip(".").lower() or "csv",
        sha256=file_sha256(path),
        site=site,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        user=user,
        os_user=os_user,
        progress=progress,
    )


def import_flat_table(
    *,
    table: Table,
    source: Path,
    file_format: str,
    sha256: str,
    site: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    user=None,  # noqa: ANN001
    os_user: str | None = None,
    progress: Progress | None = None,
    validation: FlatValidation | None = None,
    describe: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> ImportOutcome:
    """Validate ``table`` and write it to the registry, all or nothing.

    ``validation`` is the caller's own (REDCap and FHIR validate their translated rows and tell the
    problems in their terms); ``describe`` does the same for the problems found against the registry,
    which come in flat-format terms (file line, flat column) — REDCap's. (FHIR rows take every fixed
    field from the registry itself, so they cannot contradict it.)

    Raises
    ------
    ImportRejected
        When any row breaks a rule and ``skip_invalid`` is off, or the header itself is wrong
        (missing or unknown columns): nothing is written but the ``rejected`` batch record, and the
        error report is written beside ``source``.
    """
    report = progress or (lambda stage, done, total: None)
    report("validating", 0, 1)
    actor = actor_of(user, os_user=os_user)
    # Recorded and committed before anything is checked or written: an import that is killed still shows.
    batch = import_batch_start(
        file_name=str(source), file_sha256=sha256, file_format=file_format, user=actor.user, os_user=actor.os_user
    )
    try:
        return _validate_and_write(batch, table=table, source=source, file_format=file_format, site=site, dry_run=dry_run,
                                   skip_invalid=skip_invalid, actor=actor, progress=report, validation=validation, describe=describe)
    except BaseException:
        _fail(batch)
        raise


def _fail(batch: ImportBatch) -> None:
    """Complete a batch the import left running (an error, Ctrl-C) as ``failed``: it wrote nothing."""
    try:
        batch.refresh_from_db()
        if batch.status == "running":
            import_batch_finish(batch=batch, status="failed")
    except DatabaseError:
        pass  # the connection itself is gone: the batch stays running, and `db check` shows it


def _validate_and_write(
    batch: ImportBatch,
    *,
    table: Table,
    source: Path,
    file_format: str,
    site: str | None,
    dry_run: bool,
    skip_invalid: bool,
    actor: Actor,
    progress: Progress,
    validation: FlatValidation | None,
    describe: Callable[[pd.DataFrame], pd.DataFrame] | None,
) -> ImportOutcome:
    validation = validation or validate_flat_frame(table.frame, lines=table.lines, site=site)
    frame = validation.frame
    refused = actor.import_site_problems(frame)  # the account's sites, before anything else is asked
    frame = frame[~frame["line"].isin(refused["line"])].reset_index(drop=True) if len(refused) else frame
    conflicts = flat_registry_conflicts(frame) if validation.file_problems.empty else no_problems()
    if len(conflicts):
        frame = frame[~frame["line"].isin(conflicts["line"])].reset_index(drop=True)
        conflicts = describe(conflicts) if describe else conflicts  # in the source format's own terms
    problems = combine([table.problems, validation.problems, refused, conflicts])
    rows_read = max(len(table.frame), validation.rows_read) + int(table.problems["line"].dropna().nunique())
    report_path = write_problems(problems, errors_path(source), source=source) if len(problems) else None
    header_broken = problems["line"].isna() | (problems["column"] == "(header)")

    if len(problems) and (header_broken.any() or not skip_invalid):
        import_batch_finish(batch=batch, status="rejected", rows_read=rows_read, rows_skipped=rows_read)
        raise ImportRejected(source=source, problems=problems, report=report_path)

    skipped = int(problems["line"].dropna().nunique())
    if frame.empty and not skipped:
        import_batch_finish(batch=batch, status="rejected", rows_read=rows_read)
        what = "pain Observations (LOINC 72514-3)" if file_format == "fhir" else "data rows, only a header"
        raise VertebroError(f"{source.name} holds no {what}; nothing was imported")
    counts = _write(frame, batch=batch, rows_read=rows_read, skipped=skipped, dry_run=dry_run, progress=progress)
    return ImportOutcome(batch=batch, counts=counts, problems=problems, report=report_path)


def _write(frame: pd.DataFrame, *, batch: ImportBatch, rows_read: int, skipped: int, dry_run: bool, progress: Progress) -> ImportCounts:
    """Write ``frame`` and complete ``batch`` in one transaction (a dry run rolls the records back and
    completes the batch as ``dry_run`` with what would have changed)."""
    result: dict[str, ImportCounts] = {}
    try:
        with transaction.atomic():
            result["counts"] = flat_frame_import(frame=frame, import_batch=batch, progress=progress, conflicts_checked=True,
                                                 rows_read=rows_read, rows_skipped=skipped)
            if dry_run:
                raise _DryRun
    except _DryRun:
        counts = result["counts"]
        batch.refresh_from_db()  # running again: the transaction that completed it was rolled back
        import_batch_finish(batch=batch, status="dry_run", rows_read=rows_read, rows_skipped=skipped, rows_created=counts.rows_created,
                            rows_updated=counts.rows_updated, rows_unchanged=counts.rows_unchanged)
    return result["counts"]
