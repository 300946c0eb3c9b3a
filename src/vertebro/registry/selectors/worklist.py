"""The follow-up worklist: which pain scores are due or overdue, for which patient and timepoint.

For every procedure and scheduled timepoint (``domain/timepoints.py``) without a score, the assessment
is **due** from the day its window opens until the day it closes, then **overdue**. Overdue items stay
on the list for :data:`OVERDUE_SHOWN_DAYS` days after their window closed — long enough to chase a
missed visit or enter a score taken in time, short enough that years-old gaps do not bury today's
work. A score recorded at that timepoint takes the item off the list.

One SQL statement finds the items: it scans the procedures whose windows touch today once and probes
the (procedure, timepoint) index of pain assessments for each window, so the cost does not depend on
how many assessments the registry holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from ...domain.timepoints import BY_CODE, SCHEDULE, Timepoint, schedule_order
from ..models import PainAssessment, Patient, Procedure, Site

OVERDUE_SHOWN_DAYS = 90
STATUSES = ("due", "overdue")
#: Sort keys offered on the page; a leading "-" reverses.
SORTS = {
    "closes": lambda item: (item.closes_on, item.study_id),
    "opens": lambda item: (item.opens_on, item.study_id),
    "patient": lambda item: (item.study_id, schedule_order(item.timepoint.code)),
    "site": lambda item: (item.site_code, item.closes_on, item.study_id),
    "timepoint": lambda item: (schedule_order(item.timepoint.code), item.closes_on, item.study_id),
}
DEFAULT_SORT = "closes"


@dataclass(frozen=True)
class WorklistItem:
    """One assessment to collect.

    Attributes
    ----------
    procedure_id, patient_id : int
    study_id, site_code : str
    name : str or None
        The patient's name, only where the reader may see names.
    performed_on : date
        The procedure the timepoint counts from.
    timepoint : Timepoint
    today : date
    """

    procedure_id: int
    patient_id: int
    study_id: str
    site_code: str
    name: str | None
    performed_on: date
    timepoint: Timepoint
    today: date

    @property
    def opens_on(self) -> date:
        return self.timepoint.opens_on(self.performed_on)

    @property
    def closes_on(self) -> date:
        return self.timepoint.closes_on(self.performed_on)

    @property
    def status(self) -> str:
        return "due" if self.today <= self.closes_on else "overdue"

    @property
    def days_left(self) -> int:
        """Days until the window closes (0 on its last day); negative once overdue."""
        return (self.closes_on - self.today).days

    @property
    def default_assessed_on(self) -> date | None:
        """Today when today lies in the window (the usual case); else nothing: the coordinator must
        give the date the score was taken."""
        return self.today if self.opens_on <= self.today <= self.closes_on else None


def worklist_items(
    *,
    site_ids: Sequence[int],
    today: date,
    phi_site_ids: Sequence[int] = (),
    overdue_days: int = OVERDUE_SHOWN_DAYS,
) -> list[WorklistItem]:
    """Every due or recently overdue assessment at ``site_ids``, unsorted (see :data:`SORTS`)."""
    if not site_ids:
        return []
    q = connection.ops.quote_name
    procedure, patient, site, pain = (m._meta.db_table for m in (Procedure, Patient, Site, PainAssessment))
    site_marks = ", ".join(["%s"] * len(site_ids))
    phi_condition = f"pt.{q('site_id')} IN ({', '.join(['%s'] * len(phi_site_ids))})" if phi_site_ids else "1 = 0"
    timepoints = " UNION ALL ".join(["SELECT %s AS code"] * len(SCHEDULE))
    windows, window_params = [], []
    for tp in SCHEDULE:
        # The window has opened (procedure + first_day <= today) and closed no more than overdue_days ago.
        windows.append(f"(tp.code = %s AND pr.{q('performed_on')} BETWEEN %s AND %s)")
        window_params += [tp.code, today - timedelta(days=tp.last_day + overdue_days), today - timedelta(days=tp.first_day)]
    earliest = min(today - timedelta(days=tp.last_day + overdue_days) for tp in SCHEDULE)
    latest = max(today - timedelta(days=tp.first_day) for tp in SCHEDULE)
    sql = f"""
        SELECT pr.{q('id')}, pr.{q('patient_id')}, pt.{q('study_id')}, s.{q('code')},
               CASE WHEN {phi_condition} THEN pt.{q('name')} END,
               pr.{q('performed_on')}, tp.code
        FROM {q(procedure)} pr
        JOIN {q(patient)} pt ON pt.{q('id')} = pr.{q('patient_id')}
        JOIN {q(site)} s ON s.{q('id')} = pt.{q('site_id')}
        CROSS JOIN ({timepoints}) tp
        WHERE pt.{q('site_id')} IN ({site_marks})
          AND pr.{q('performed_on')} BETWEEN %s AND %s
          AND ({' OR '.join(windows)})
          AND NOT EXISTS (
              SELECT 1 FROM {q(pain)} pa
              WHERE pa.{q('procedure_id')} = pr.{q('id')} AND pa.{q('timepoint')} = tp.code
          )
    """
    params = [*phi_site_ids, *(tp.code for tp in SCHEDULE), *site_ids, earliest, latest, *window_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        WorklistItem(
            procedure_id=procedure_id,
            patient_id=patient_id,
            study_id=study_id,
            site_code=site_code,
            name=name,
            performed_on=performed_on if isinstance(performed_on, date) else date.fromisoformat(performed_on),
            timepoint=BY_CODE[code],
            today=today,
        )
        for procedure_id, patient_id, study_id, site_code, name, performed_on, code in rows
    ]


def worklist_sorted(items: list[WorklistItem], sort: str) -> list[WorklistItem]:
    """Items in the order ``sort`` names (a key of :data:`SORTS`, optionally prefixed by "-")."""
    key = sort.lstrip("-")
    if key not in SORTS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    return sorted(items, key=SORTS[key], reverse=sort.startswith("-"))
