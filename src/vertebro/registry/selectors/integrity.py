"""`vertebro db check`: is the registry whole and consistent?

The database enforces ranges and vocabularies itself; these checks cover what a single-row CHECK
constraint cannot see: the file's own integrity, cross-table agreement, timepoint windows, dates in
an impossible order (``integrity_dates``), the append-only audit triggers and unfinished imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F

from ...domain.timepoints import BY_CODE, UNSCHEDULED
from ..models import FollowUp, PainAssessment, Procedure, TreatedLevel
from .integrity_dates import date_order_querysets



@dataclass(frozen=True)
class IntegrityFinding:
    """One check and what it found.

    Attributes
    ----------
    check : str
        What was checked, in words.
    problems : int
        How many rows (or items) break it; 0 is clean.
    severity : str
        ``error`` (the registry is inconsistent) or ``warning`` (worth a look).
    detail : str
        Examples or the engine's own message.
    """

    check: str
    problems: int
    severity: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problems == 0


def _engine_checks() -> list[IntegrityFinding]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            bad = [row[0] for row in cursor.fetchall() if row[0] != "ok"]
            cursor.execute("PRAGMA foreign_key_check")
            orphans = cursor.fetchall()
        else:
            bad, orphans = [], []
    return [
        IntegrityFinding("database file integrity (SQLite integrity_check)", len(bad), "error", "; ".join(bad[:3])),
        IntegrityFinding("foreign keys point to existing rows", len(orphans), "error", str(orphans[:3]) if orphans else ""),
    ]


def _unapplied_migrations() -> IntegrityFinding:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    names = [f"{m.app_label}.{m.name}" for m, _ in plan]
    return IntegrityFinding("all migrations applied (else run `vertebro init`)", len(names), "error", ", ".join(names[:3]))


def _mismatched(queryset, check: str) -> IntegrityFinding:  # noqa: ANN001
    ids = list(queryset.values_list("id", flat=True)[:5])
    return IntegrityFinding(check, queryset.count(), "error", f"ids {ids}" if ids else "")


def _window_findings() -> list[IntegrityFinding]:
    rows = pd.DataFrame.from_records(
        list(PainAssessment.objects.values_list("id", "timepoint", "assessed_on", "procedure__performed_on")),
        columns=["id", "timepoint", "assessed_on", "performed_on"],
    )
    outside = []
    if not rows.empty:
        days = (pd.to_datetime(rows["assessed_on"]) - pd.to_datetime(rows["performed_on"])).dt.days
        first = rows["timepoint"].map(lambda tp: BY_CODE[tp].first_day if tp != UNSCHEDULED else -10**6)
        last = rows["timepoint"].map(lambda tp: BY_CODE[tp].last_day if tp != UNSCHEDULED else 10**6)
        outside = rows.loc[(days < first) | (days > last), "id"].tolist()
    return [
        IntegrityFinding(
            "every scored timepoint lies in its window (baseline on or before the procedure)",
            len(outside),
            "error",
            f"assessment ids {outside[:5]}" if outside else "",
        )
    ]


def registry_integrity_findings() -> list[IntegrityFinding]:
    """Run every check; the registry is clean when no finding of severity ``error`` has problems."""
    from .audit_integrity import audit_findings, unfinished_imports_finding
    from .instrument_integrity import instrument_findings

    findings = _engine_checks()
    findings.append(_unapplied_migrations())
    if any(f.problems for f in findings if f.check.startswith("all migrations")):
        return findings
    findings += audit_findings()
    findings += [
        _mismatched(
            PainAssessment.objects.exclude(patient_id=F("procedure__patient_id")),
            "pain assessments belong to their procedure's patient",
        ),
        _mismatched(
            FollowUp.objects.exclude(patient_id=F("procedure__patient_id")),
            "follow-ups belong to their procedure's patient",
        ),
        _mismatched(
            TreatedLevel.objects.exclude(fracture__patient_id=F("procedure__patient_id")),
            "treated fractures belong to their procedure's patient",
        ),
        *_window_findings(),
        *instrument_findings(),
        *(_mismatched(queryset, f"no record where {check}") for check, queryset in date_order_querysets()),
        IntegrityFinding(
            "procedures record at least one treated level",
            Procedure.objects.filter(treated_levels__isnull=True).count(),
            "warning",
        ),
        unfinished_imports_finding(),
    ]
    return findings
