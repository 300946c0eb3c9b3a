"""Importing a table of flat rows: validate everything, then write everything or nothing.

Every row is checked on its own and across rows (:mod:`.flat_validate`), then against what the
registry already holds about the same patients (:mod:`vertebro.registry.selectors.flat_conflicts`:
site, procedure date, levels, age and birth date); all of it lands in one error report.

Every import leaves an :class:`ImportBatch` (file hash, user, time, counts, status): ``committed``,
``rejected`` (problems found, nothing written) or ``dry_run`` (what would change, nothing written).
The CSV/XLSX, REDCap and FHIR importers all end here, so they share one set of rules and one
error report.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.db import transaction
from django.utils import timezone

from ..errors import VertebroError
from ..registry.models import ImportBatch
from ..registry.selectors.flat_conflicts import flat_registry_conflicts
from ..registry.services.flat_import import ImportCounts, flat_frame_import
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


def current_os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return ""


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
    os_user = current_os_user() if os_user is None else os_user
    validation = validation or validate_flat_frame(table.frame, lines=table.lines, site=site)
    frame = validation.frame
    conflicts = flat_registry_conflicts(frame) if validation.file_problems.empty else no_problems()
    if len(conflicts):
        frame = frame[~frame["line"].isin(conflicts["line"])].reset_index(drop=True)
        conflicts = describe(conflicts) if describe else conflicts  # in the source format's own terms
    problems = combine([table.problems, validation.problems, conflicts])
    rows_read = max(len(table.frame), validation.rows_read) + int(table.problems["line"].dropna().nunique())
    report_path = write_problems(problems, errors_path(source), source=source) if len(problems) else None
    header_broken = problems["line"].isna() | (problems["column"] == "(header)")
    audit = dict(file_name=str(source)[-500:], file_sha256=sha256, file_format=file_format, user=user, os_user=os_user)

    if len(problems) and (header_broken.any() or not skip_invalid):
        rejected = ImportBatch.objects.create(**audit, status="rejected", rows_read=rows_read, rows_skipped=rows_read)
        rejected.finished_at = timezone.now()  # after started_at, which the create stamps
        rejected.save(update_fields=["finished_at"])
        raise ImportRejected(source=source, problems=problems, report=report_path)

    skipped = int(problems["line"].dropna().nunique())
    if frame.empty and not skipped:
        what = "pain Observations (LOINC 72514-3)" if file_format == "fhir" else "data rows, only a header"
        raise VertebroError(f"{source.name} holds no {what}; nothing was imported")
    counts = _write(frame, audit=audit, rows_read=rows_read, skipped=skipped, dry_run=dry_run, progress=report)
    batch = counts[1]
    return ImportOutcome(batch=batch, counts=counts[0], problems=problems, report=report_path)


def _write(frame: pd.DataFrame, *, audit: dict, rows_read: int, skipped: int, dry_run: bool, progress: Progress) -> tuple[ImportCounts, ImportBatch]:
    result: dict[str, object] = {}
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(**audit, status="dry_run" if dry_run else "running")
            result["counts"] = flat_frame_import(frame=frame, import_batch=batch, progress=progress, conflicts_checked=True)
            batch.rows_read, batch.rows_skipped = rows_read, skipped
            batch.save(update_fields=["rows_read", "rows_skipped"])
            if dry_run:
                raise _DryRun
    except _DryRun:
        counts: ImportCounts = result["counts"]  # type: ignore[assignment]
        batch = ImportBatch.objects.create(
            **audit,
            status="dry_run",
            rows_read=rows_read,
            rows_skipped=skipped,
            rows_created=counts.rows_created,
            rows_updated=counts.rows_updated,
            rows_unchanged=counts.rows_unchanged,
        )
        batch.finished_at = timezone.now()  # after started_at, which the create stamps
        batch.save(update_fields=["finished_at"])
    return result["counts"], batch  # type: ignore[return-value]
