"""The dashboard's aggregates: patients by site and group, follow-up capture, mean pain over time.

Three grouped SQL statements compute the figures for every site at once; a reader's dashboard adds up
the sites they may see (sums and counts, so means stay exact). The per-site figures are cached under a
key made of today's date and the registry's data version (``data_version.py``), so any change anywhere
— a form, the importer, a script using the services — makes the next dashboard recompute; the cache is
shared by the server's processes, so each version is computed once (see :func:`site_aggregates`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from ...domain.timepoints import SCHEDULE, Timepoint
from ..models import Fracture, PainAssessment, Patient, Procedure, Site, TreatedLevel
from ..models.voiding import active_sql
from .data_version import registry_data_version

GROUPS = ("osteoporotic", "pathologic", "traumatic")
NO_GROUP = "none"
#: Registries' quality bar: at least 80% of patients followed up at one year (QOD, Swespine).
CAPTURE_TARGET = 0.8
CAPTURE_TARGET_TIMEPOINT = "12m"
_GROUP_RANK = {"osteoporotic": 1, "traumatic": 2, "pathologic": 3}  # higher wins (pathologic first)
_RANK_GROUP = {rank: group for group, rank in _GROUP_RANK.items()}
_CACHE_SECONDS = 24 * 3600
_COMPUTE_SECONDS = 120  # a computation that died leaves its mark no longer than this
_LATEST_KEY = "vertebro-dashboard-latest"


@dataclass(frozen=True)
class CaptureRate:
    """Follow-up capture at one timepoint.

    Attributes
    ----------
    timepoint : Timepoint
    eligible : int
        Procedures whose window for this timepoint has closed.
    captured : int
        Of those, the ones with a score at this timepoint.
    by_patient : int
        Of the captured, the scores the patient reported through an invitation (source ``patient``);
        the rest were entered by staff or imported (issue 9: capture by channel).
    """

    timepoint: Timepoint
    eligible: int
    captured: int
    by_patient: int = 0

    @property
    def by_staff(self) -> int:
        return self.captured - self.by_patient

    @property
    def rate(self) -> float | None:
        return self.captured / self.eligible if self.eligible else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.rate is None else self.rate >= CAPTURE_TARGET


@dataclass(frozen=True)
class PainMean:
    """Mean pain score at one timepoint in one group (procedure's fractures decide the group).

    Attributes
    ----------
    timepoint : Timepoint
    group : str
    n : int
    mean : float or None
    """

    timepoint: Timepoint
    group: str
    n: int
    mean: float | None


@dataclass(frozen=True)
class SitePatients:
    site_code: str
    by_group: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_group.values())


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows for a set of sites.

    Attributes
    ----------
    patients : list of SitePatients
        One per site, ordered by site code; ``by_group`` has every group of :data:`GROUPS` plus
        :data:`NO_GROUP` (no fracture recorded).
    capture : list of CaptureRate
        One per scheduled timepoint, in schedule order.
    pain : list of PainMean
        Every scheduled timepoint × the two study groups (osteoporotic, pathologic).
    computed_at : datetime
    current : bool
        False while newer figures are being computed (these are the previous ones).
    """

    patients: list[SitePatients]
    capture: list[CaptureRate]
    pain: list[PainMean]
    computed_at: datetime
    current: bool

    @property
    def patient_total(self) -> int:
        return sum(site.total for site in self.patients)

    def group_total(self, group: str) -> int:
        return sum(site.by_group[group] for site in self.patients)

    @property
    def target_capture(self) -> CaptureRate:
        return next(c for c in self.capture if c.timepoint.code == CAPTURE_TARGET_TIMEPOINT)


def _group_case(column: str) -> str:
    return "MAX(CASE " + column + " " + " ".join(f"WHEN '{g}' THEN {r}" for g, r in _GROUP_RANK.items()) + " END)"


def _site_aggregates(today: date) -> dict:
    """Per-site counts and sums for every site (three queries)."""
    q = connection.ops.quote_name
    patient, fracture, procedure, treated, pain = (
        q(m._meta.db_table) for m in (Patient, Fracture, Procedure, TreatedLevel, PainAssessment)
    )
    patients: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*GROUPS, NO_GROUP), 0))
    eligible: dict[int, dict[str, int]] = defaultdict(dict)
    captured: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((tp.code for tp in SCHEDULE), 0))
    by_patient: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((tp.code for tp in SCHEDULE), 0))
    pain_sums: dict[int, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    # A window has closed when procedure date + last day < today.
    closed_before = {tp.code: today - timedelta(days=tp.last_day) for tp in SCHEDULE}

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT pt.{q('site_id')}, f.grp, COUNT(*)
            FROM {patient} pt
            LEFT JOIN (SELECT {q('patient_id')} AS patient_id, {_group_case(q('etiology'))} AS grp
                       FROM {fracture} WHERE {active_sql(fracture)} GROUP BY {q('patient_id')}) f ON f.patient_id = pt.{q('id')}
            GROUP BY pt.{q('site_id')}, f.grp
            """
        )
        for site_id, rank, n in cursor.fetchall():
            patients[site_id][_RANK_GROUP.get(rank, NO_GROUP)] += n

        sums = ", ".join(f"SUM(CASE WHEN pr.{q('performed_on')} < %s THEN 1 ELSE 0 END)" for _ in SCHEDULE)
        cursor.execute(
            f"""
            SELECT pt.{q('site_id')}, {sums}
            FROM {procedure} pr JOIN {patient} pt ON pt.{q('id')} = pr.{q('patient_id')}
            WHERE {active_sql('pr')}
            GROUP BY pt.{q('site_id')}
            """,
            [closed_before[tp.code] for tp in SCHEDULE],
        )
        for site_id, *counts in cursor.fetchall():
            eligible[site_id] = {tp.code: int(n or 0) for tp, n in zip(SCHEDULE, counts)}

        closed = " OR ".join(f"(pa.{q('timepoint')} = %s AND pr.{q('performed_on')} < %s)" for _ in SCHEDULE)
        cursor.execute(
            f"""
            SELECT pt.{q('site_id')}, pa.{q('timepoint')}, g.grp, COUNT(*), SUM(pa.{q('score')}),
                   SUM(CASE WHEN {closed} THEN 1 ELSE 0 END),
                   SUM(CASE WHEN ({closed}) AND pa.{q('source')} = 'patient' THEN 1 ELSE 0 END)
            FROM {pain} pa
            JOIN {procedure} pr ON pr.{q('id')} = pa.{q('procedure_id')}
            JOIN {patient} pt ON pt.{q('id')} = pr.{q('patient_id')}
            LEFT JOIN (SELECT tl.{q('procedure_id')} AS procedure_id, {_group_case('f.' + q('etiology'))} AS grp
                       FROM {treated} tl JOIN {fracture} f ON f.{q('id')} = tl.{q('fracture_id')}
                       GROUP BY tl.{q('procedure_id')}) g ON g.procedure_id = pa.{q('procedure_id')}
            WHERE {active_sql('pa')} AND {active_sql('pr')}
            GROUP BY pt.{q('site_id')}, pa.{q('timepoint')}, g.grp
            """,
            [value for tp in SCHEDULE for value in (tp.code, closed_before[tp.code])] * 2,
        )
        for site_id, timepoint, rank, n, total, n_closed, n_patient in cursor.fetchall():
            if timepoint in captured[site_id]:
                captured[site_id][timepoint] += int(n_closed or 0)
                by_patient[site_id][timepoint] += int(n_patient or 0)
                cell = pain_sums[site_id][(timepoint, _RANK_GROUP.get(rank, NO_GROUP))]
                cell[0] += n
                cell[1] += float(total)
    return {
        "patients": {k: dict(v) for k, v in patients.items()},
        "eligible": dict(eligible),
        "captured": {k: dict(v) for k, v in captured.items()},
        "by_patient": {k: dict(v) for k, v in by_patient.items()},
        "pain": {k: {key: tuple(cell) for key, cell in v.items()} for k, v in pain_sums.items()},
    }


@dataclass(frozen=True)
class Aggregates:
    """Per-site figures and when they were computed.

    Attributes
    ----------
    figures : dict
        What :func:`_site_aggregates` returns.
    computed_at : datetime
    current : bool
        False when these are the previous figures, served while another request computes the new ones.
    """

    figures: dict
    computed_at: datetime
    current: bool


def site_aggregates(*, today: date) -> Aggregates:
    """Per-site figures, computed once per registry version and day and shared by every server process
    through the cache (file-based under `vertebro serve`).

    While one request computes the figures of a new version (about a second with 100,000 patients),
    the others get the previous figures, marked as not current, instead of computing them again.
    """
    key = f"vertebro-dashboard-{today.isoformat()}-{registry_data_version()}"
    found = cache.get(key)
    if found is not None:
        return Aggregates(found["figures"], found["computed_at"], current=True)
    latest = cache.get(_LATEST_KEY)
    if not cache.add(f"{key}-computing", 1, _COMPUTE_SECONDS) and latest is not None and latest["today"] == today:
        return Aggregates(latest["figures"], latest["computed_at"], current=False)
    try:
        entry = {"figures": _site_aggregates(today), "computed_at": timezone.now(), "today": today}
        cache.set(key, entry, _CACHE_SECONDS)
        cache.set(_LATEST_KEY, entry, _CACHE_SECONDS)
    finally:
        cache.delete(f"{key}-computing")
    return Aggregates(entry["figures"], entry["computed_at"], current=True)


def dashboard_for_sites(*, site_ids: Sequence[int], today: date) -> Dashboard:
    """The dashboard of the sites a reader may see."""
    computed = site_aggregates(today=today)
    aggregates = computed.figures
    codes = dict(Site.objects.filter(pk__in=list(site_ids)).values_list("pk", "code"))
    empty_groups = dict.fromkeys((*GROUPS, NO_GROUP), 0)
    patients = [
        SitePatients(codes[site_id], dict(aggregates["patients"].get(site_id, empty_groups)))
        for site_id in sorted(codes, key=codes.get)
    ]
    capture = []
    for tp in SCHEDULE:
        eligible = sum(aggregates["eligible"].get(s, {}).get(tp.code, 0) for s in codes)
        captured = sum(aggregates["captured"].get(s, {}).get(tp.code, 0) for s in codes)
        reported = sum(aggregates.get("by_patient", {}).get(s, {}).get(tp.code, 0) for s in codes)
        capture.append(CaptureRate(tp, eligible, captured, reported))
    pain = []
    for tp in SCHEDULE:
        for group in ("osteoporotic", "pathologic"):
            cells = [aggregates["pain"].get(s, {}).get((tp.code, group), (0, 0.0)) for s in codes]
            n = sum(c[0] for c in cells)
            pain.append(PainMean(tp, group, n, sum(c[1] for c in cells) / n if n else None))
    return Dashboard(patients=patients, capture=capture, pain=pain, computed_at=computed.computed_at, current=computed.current)
