"""The follow-up worklist: which pain scores are due or overdue, for which patient and timepoint.

For every procedure and scheduled timepoint (``domain/timepoints.py``) without a score, the assessment
is **due** from the day its window opens until the day it closes, then **overdue**. Overdue items stay
on the list for :data:`OVERDUE_SHOWN_DAYS` days after their window closed — long enough to chase a
missed visit or enter a score taken in time, short enough that years-old gaps do not bury today's
work. A score recorded at that timepoint, or a missing-data code (``MissingData``), takes the item off
the list. Each procedure's next window that has not opened yet is **upcoming** (a patient treated
today has the 1-week visit upcoming): shown only when asked for, with its window dates, so the day's
list stays the work that can be done today.

One SQL statement finds a site's items (:func:`worklist_items`): it walks the site's procedures through
the (patient, performed_on) index and probes the (procedure, timepoint) index of pain assessments for
each open window. With 50,000 patients at a site that takes some 60 ms, so :func:`worklist_page` keeps
each site's items, already sorted every way the page offers, in the server process under the registry's
data version (``data_version.py``) and today's date: a recorded score changes the version, and the
next request rebuilds the list without it. Pages then cost a merge and a slice.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.db import connection
from django.db.models import Max

from ...domain.timepoints import BY_CODE, SCHEDULE, Timepoint, schedule_order
from ...domain.invitations import OPEN_STATES
from ..models import Invitation, MissingData, PainAssessment, Patient, Procedure, Site
from ..models.voiding import active_sql
from .data_version import registry_data_version

OVERDUE_SHOWN_DAYS = 90
#: Days after its procedure that a procedure can still put an item on the list (last window + grace).
LISTED_FOR_DAYS = max(tp.last_day for tp in SCHEDULE) + OVERDUE_SHOWN_DAYS
STATUSES = ("due", "overdue", "upcoming")
#: What the list shows when no status is chosen: the assessments that can be taken now or are late.
ACTIONABLE = ("due", "overdue")
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
    procedure_id, patient_id, site_id : int
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
    site_id: int
    study_id: str
    site_code: str
    name: str | None
    performed_on: date
    timepoint: Timepoint
    today: date
    #: The state of the open invitation asking the patient for this score (issue 9), or None.
    invitation: str | None = None

    @property
    def opens_on(self) -> date:
        return self.timepoint.opens_on(self.performed_on)

    @property
    def closes_on(self) -> date:
        return self.timepoint.closes_on(self.performed_on)

    @property
    def status(self) -> str:
        if self.today < self.opens_on:
            return "upcoming"
        return "due" if self.today <= self.closes_on else "overdue"

    @property
    def days_to_open(self) -> int:
        """Days until the window opens (positive while upcoming)."""
        return (self.opens_on - self.today).days

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
    """Every due, recently overdue or upcoming assessment at ``site_ids``, unsorted (see :data:`SORTS`).

    Upcoming: the procedure's next scheduled window, which opens after today (the timepoint before it
    has opened: ``previous.first_day <= today - performed_on < first_day``)."""
    if not site_ids:
        return []
    q = connection.ops.quote_name
    procedure, patient, site, pain, missing = (
        m._meta.db_table for m in (Procedure, Patient, Site, PainAssessment, MissingData)
    )
    site_marks = ", ".join(["%s"] * len(site_ids))
    phi_condition = f"pt.{q('site_id')} IN ({', '.join(['%s'] * len(phi_site_ids))})" if phi_site_ids else "1 = 0"
    timepoints = " UNION ALL ".join(["SELECT %s AS code"] * len(SCHEDULE))
    windows, window_params = [], []
    for tp in SCHEDULE:
        # The window has opened (procedure + first_day <= today) and closed no more than overdue_days ago.
        windows.append(f"(tp.code = %s AND pr.{q('performed_on')} BETWEEN %s AND %s)")
        window_params += [tp.code, today - timedelta(days=tp.last_day + overdue_days), today - timedelta(days=tp.first_day)]
    for previous, tp in itertools.pairwise(SCHEDULE):
        windows.append(f"(tp.code = %s AND pr.{q('performed_on')} BETWEEN %s AND %s)")
        window_params += [tp.code, today - timedelta(days=tp.first_day - 1), today - timedelta(days=previous.first_day)]
    earliest = min(today - timedelta(days=tp.last_day + overdue_days) for tp in SCHEDULE)
    latest = max(today - timedelta(days=tp.first_day) for tp in SCHEDULE)
    sql = f"""
        SELECT pr.{q('id')}, pr.{q('patient_id')}, pt.{q('site_id')}, pt.{q('study_id')}, s.{q('code')},
               CASE WHEN {phi_condition} THEN pt.{q('name')} END,
               pr.{q('performed_on')}, tp.code
        FROM {q(procedure)} pr
        JOIN {q(patient)} pt ON pt.{q('id')} = pr.{q('patient_id')}
        JOIN {q(site)} s ON s.{q('id')} = pt.{q('site_id')}
        CROSS JOIN ({timepoints}) tp
        WHERE pt.{q('site_id')} IN ({site_marks})
          AND {active_sql('pr')}
          AND pr.{q('performed_on')} BETWEEN %s AND %s
          AND ({' OR '.join(windows)})
          AND NOT EXISTS (
              SELECT 1 FROM {q(pain)} pa
              WHERE pa.{q('procedure_id')} = pr.{q('id')} AND pa.{q('timepoint')} = tp.code AND {active_sql('pa')}
          )
          AND NOT EXISTS (
              SELECT 1 FROM {q(missing)} md
              WHERE md.{q('procedure_id')} = pr.{q('id')} AND md.{q('timepoint')} = tp.code
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
            site_id=site_id,
            study_id=study_id,
            site_code=site_code,
            name=name,
            performed_on=performed_on if isinstance(performed_on, date) else date.fromisoformat(performed_on),
            timepoint=BY_CODE[code],
            today=today,
        )
        for procedure_id, patient_id, site_id, study_id, site_code, name, performed_on, code in rows
    ]


@dataclass
class _SiteWorklist:
    """One site's items with their status counts; sorted copies are made on first use of a sort key."""

    items: list[WorklistItem]
    counts: Counter
    by_sort: dict[str, list[WorklistItem]] = field(default_factory=dict)

    def sorted_by(self, key: str) -> list[WorklistItem]:
        if key not in self.by_sort:
            self.by_sort[key] = sorted(self.items, key=SORTS[key])
        return self.by_sort[key]


#: site id → (data version, today, that site's worklist). Process memory: each server process keeps its own.
_MEMO: dict[int, tuple[str, date, _SiteWorklist]] = {}


def worklist_memo_clear() -> None:
    """Forget every kept worklist (tests start from nothing; the version makes this unnecessary otherwise)."""
    _MEMO.clear()


def _site_worklist(site_id: int, today: date, version: str) -> _SiteWorklist:
    kept = _MEMO.get(site_id)
    if kept is None or kept[0] != version or kept[1] != today:
        items = worklist_items(site_ids=[site_id], today=today, phi_site_ids=[site_id])
        kept = (version, today, _SiteWorklist(items, Counter(item.status for item in items)))
        _MEMO[site_id] = kept
    return kept[2]


@dataclass(frozen=True)
class WorklistPage:
    """One page of the worklist.

    Attributes
    ----------
    items : list of WorklistItem
        The page, names removed where the reader may not see them.
    total : int
        Items matching the filters, over all pages.
    counts : Counter
        Due, overdue and upcoming items at the reader's sites, before the status and timepoint filters.
    """

    items: list[WorklistItem]
    total: int
    counts: Counter


def worklist_page(
    *,
    site_ids: Sequence[int],
    phi_site_ids: Sequence[int],
    today: date,
    sort: str = DEFAULT_SORT,
    status: str | None = None,
    timepoint: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> WorklistPage:
    """Items ``offset`` … ``offset + limit`` of the worklist of ``site_ids`` in the order ``sort`` names."""
    key = sort.lstrip("-")
    if key not in SORTS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    version = registry_data_version()
    sites = [_site_worklist(site_id, today, version) for site_id in site_ids]
    counts = sum((site.counts for site in sites), Counter())

    shown = (status,) if status else ACTIONABLE

    def wanted(item: WorklistItem) -> bool:
        return item.status in shown and (not timepoint or item.timepoint.code == timepoint)

    lists = [site.sorted_by(key) for site in sites]
    if sort.startswith("-"):
        lists = [list(reversed(items)) for items in lists]
    merged = heapq.merge(*lists, key=SORTS[key], reverse=sort.startswith("-"))
    if timepoint:
        total = sum(1 for items in lists for item in items if wanted(item))
    else:
        total = sum(counts[shown_status] for shown_status in shown)
    merged = filter(wanted, merged)
    page = list(itertools.islice(merged, offset, offset + limit))
    allowed = set(phi_site_ids)
    page = [item if item.site_id in allowed else replace(item, name=None) for item in page]
    # Read fresh for the page (not cached with the list): a message sent since changes no score.
    invited = dict(
        ((procedure_id, timepoint), state)
        for procedure_id, timepoint, state in Invitation.objects.filter(
            procedure_id__in={item.procedure_id for item in page}, state__in=OPEN_STATES
        ).values_list("procedure_id", "timepoint", "state")
    )
    page = [replace(item, invitation=invited.get((item.procedure_id, item.timepoint.code))) for item in page]
    return WorklistPage(items=page, total=total, counts=counts)


def latest_procedure_date(*, site_ids: Sequence[int]) -> date | None:
    """The most recent procedure at ``site_ids`` (None without any): it explains an empty worklist —
    a registry whose procedures all lie more than :data:`LISTED_FOR_DAYS` days back has nothing to chase."""
    return Procedure.objects.active().filter(patient__site_id__in=site_ids).aggregate(latest=Max("performed_on"))["latest"]
