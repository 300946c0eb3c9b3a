"""Reads for the patients list and the patient page.

The list stays fast with 100k patients: filters use indexed columns (study id, site) or a per-patient
probe of the fracture index, the page is cut in SQL, the total is counted once per registry version
(searches are not counted at all), and what each row shows beyond the patient itself comes from two
queries over the page's patients only — never one query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from ...domain.rules import age_at
from ...domain.timepoints import schedule_order
from ...domain.vocabulary import ETIOLOGY
from .data_version import registry_data_version
from ..models import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    MissingData,
    PainAssessment,
    Patient,
    Procedure,
    TreatedLevel,
)

#: When a patient's fractures differ, the group that decides how they are analysed:
#: pathologic wins, then traumatic, then osteoporotic (as in the flat format).
ETIOLOGY_PRIORITY = ("pathologic", "traumatic", "osteoporotic")


def patient_group(etiologies: Iterable[str]) -> str | None:
    """The study group of a set of fracture etiologies (None when there is no fracture)."""
    present = set(etiologies)
    for etiology in ETIOLOGY_PRIORITY:
        if etiology in present:
            return etiology
    return None


def _study_id_prefix(search: str) -> Q:
    """Study ids starting with ``search`` (as typed or upper-cased), in a form the index can serve."""
    condition = Q()
    for prefix in dict.fromkeys((search, search.upper())):
        if connection.vendor == "sqlite":
            # SQLite's LIKE ignores case and cannot use the index; the range can, and keeps the LIKE exact.
            condition |= Q(study_id__gte=prefix, study_id__lt=prefix + "\U0010ffff", study_id__startswith=prefix)
        else:
            condition |= Q(study_id__startswith=prefix)  # PostgreSQL: served by Django's pattern index
    return condition


def patient_list_queryset(
    *,
    site_ids: Sequence[int],
    phi_site_ids: Sequence[int] = (),
    search: str = "",
    site_id: int | None = None,
    etiology: str | None = None,
) -> QuerySet[Patient]:
    """Patients of ``site_ids``, ordered by study id.

    Parameters
    ----------
    site_ids : sequence of int
        The sites the reader may see.
    phi_site_ids : sequence of int
        Of those, the sites where the reader may see names: only there does ``search`` also match a
        name (anywhere in it) or an MRN (exactly).
    search : str
        A study id prefix, or a name or MRN where allowed.
    site_id : int, optional
        Only this site (ignored unless it is one of ``site_ids``).
    etiology : str, optional
        Only patients with a fracture of this etiology.
    """
    patients = Patient.objects.filter(site_id__in=list(site_ids))
    if site_id is not None:
        patients = patients.filter(site_id=site_id)
    if etiology:
        # Probed per patient through the fracture's patient index, so a page stops after 50 matches.
        patients = patients.filter(Exists(Fracture.objects.filter(patient_id=OuterRef("pk"), etiology=etiology)))
    search = search.strip()
    if search:
        matches = _study_id_prefix(search)
        if phi_site_ids:
            matches |= Q(site_id__in=list(phi_site_ids)) & (Q(name__icontains=search) | Q(mrn=search))
        patients = patients.filter(matches)
    return patients.select_related("site").order_by("study_id")


def patient_list_count(*, patients: QuerySet[Patient], key: str) -> int:
    """How many patients ``patients`` holds, cached under the registry's data version: a filtered
    count visits every patient of the sites, the page itself only as many as it shows.
    ``key`` names the filters (never a search term: searches are not counted)."""
    return cache.get_or_set(f"vertebro-patients-{registry_data_version()}-{key}", patients.count, 24 * 3600)


@dataclass(frozen=True)
class PatientRow:
    """One line of the patients list.

    Attributes
    ----------
    patient : Patient
    group : str or None
        Study group from the fractures (:func:`patient_group`).
    index_procedure_on : date or None
        Date of the first procedure.
    procedures : int
        How many procedures.
    age : int or None
        Whole years at the first procedure (today when there is none yet).
    """

    patient: Patient
    group: str | None
    index_procedure_on: date | None
    procedures: int
    age: int | None

    @property
    def group_label(self) -> str:
        return ETIOLOGY.label(self.group) if self.group else "no fracture recorded"


def patient_age(patient: Patient, index_on: date | None, *, today: date | None = None) -> int | None:
    """Whole years at the index procedure (or today, before any procedure)."""
    if patient.birth_date is not None:
        return age_at(patient.birth_date, index_on or today or date.today())
    return patient.age_at_index


def patient_rows(patients: Sequence[Patient]) -> list[PatientRow]:
    """Decorate one page of patients with their group, index procedure and count (two queries)."""
    ids = [p.pk for p in patients]
    etiologies: dict[int, set[str]] = defaultdict(set)
    for patient_id, etiology in Fracture.objects.filter(patient_id__in=ids).values_list("patient_id", "etiology"):
        etiologies[patient_id].add(etiology)
    procedure_dates: dict[int, list[date]] = defaultdict(list)
    for patient_id, performed_on in Procedure.objects.filter(patient_id__in=ids).values_list("patient_id", "performed_on"):
        procedure_dates[patient_id].append(performed_on)
    rows = []
    for patient in patients:
        dates = procedure_dates.get(patient.pk, [])
        index_on = min(dates) if dates else None
        rows.append(
            PatientRow(
                patient=patient,
                group=patient_group(etiologies.get(patient.pk, ())),
                index_procedure_on=index_on,
                procedures=len(dates),
                age=patient_age(patient, index_on),
            )
        )
    return rows


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened to the patient, for the timeline.

    Attributes
    ----------
    on : date or None
        When (None sorts first: a fracture without an onset date).
    kind : str
        ``fracture``, ``eligibility``, ``procedure``, ``pain``, ``follow_up`` or ``complication``.
    record : Model
    """

    on: date | None
    kind: str
    record: object


@dataclass
class PatientOverview:
    """Everything the patient page shows, loaded in a fixed number of queries.

    Attributes
    ----------
    patient : Patient
    fractures : list of Fracture
    eligibility : list of EligibilityAssessment
        Newest first; ``eligibility[0]`` is the one that decides whether a procedure may go ahead.
    procedures : list of Procedure
        Oldest first, with ``treated_levels`` (and their fractures), ``complications``,
        ``pain_assessments`` and ``follow_ups`` prefetched.
    index_procedure : Procedure or None
    age : int or None
    group : str or None
    timeline : list of TimelineEvent
        Oldest first.
    """

    patient: Patient
    fractures: list
    eligibility: list
    procedures: list
    index_procedure: Procedure | None
    age: int | None
    group: str | None
    timeline: list[TimelineEvent] = field(default_factory=list)

    @property
    def latest_eligibility(self) -> EligibilityAssessment | None:
        return self.eligibility[0] if self.eligibility else None

    @property
    def eligibility_blocked(self) -> bool:
        latest = self.latest_eligibility
        return bool(latest and latest.blocked)

    @property
    def pain_assessments(self) -> list[PainAssessment]:
        return [a for p in self.procedures for a in p.pain_assessments.all()]

    @property
    def missing_data(self) -> list[MissingData]:
        """Every missing-data code of the patient's procedures, in schedule order per procedure."""
        return [m for p in self.procedures for m in sorted(p.missing_data.all(), key=lambda m: schedule_order(m.timepoint))]


def _same_day_order(event: TimelineEvent) -> int:
    """On one day: fracture, checklist and baseline score come before the procedure, the rest after."""
    if event.kind == "pain":
        return 2 if event.record.timepoint == "baseline" else 4
    return {"fracture": 0, "eligibility": 1, "procedure": 3, "complication": 5, "follow_up": 6}[event.kind]


def patient_overview(*, patient: Patient) -> PatientOverview:
    """The patient page's data: fractures, eligibility, procedures with everything under them, and a timeline."""
    fractures = list(patient.fractures.order_by("onset_date", "id"))
    eligibility = list(
        EligibilityAssessment.objects.filter(patient=patient)
        .select_related("assessed_by", "overridden_by")
        .order_by("-assessed_on", "-id")
    )
    procedures = list(
        Procedure.objects.filter(patient=patient)
        .order_by("performed_on", "id")
        .prefetch_related(
            Prefetch("treated_levels", queryset=TreatedLevel.objects.select_related("fracture").order_by("id")),
            Prefetch("complications", queryset=Complication.objects.order_by("noted_on", "id")),
            Prefetch("pain_assessments", queryset=PainAssessment.objects.order_by("assessed_on", "id")),
            Prefetch("follow_ups", queryset=FollowUp.objects.order_by("seen_on", "id")),
            Prefetch("missing_data", queryset=MissingData.objects.select_related("recorded_by")),
        )
    )
    index_procedure = next((p for p in procedures if not p.is_voided), None)
    timeline: list[TimelineEvent] = [TimelineEvent(f.onset_date, "fracture", f) for f in fractures]
    timeline += [TimelineEvent(e.assessed_on, "eligibility", e) for e in eligibility]
    for procedure in procedures:
        timeline.append(TimelineEvent(procedure.performed_on, "procedure", procedure))
        timeline += [TimelineEvent(c.noted_on or procedure.performed_on, "complication", c) for c in procedure.complications.all()]
        timeline += [TimelineEvent(a.assessed_on, "pain", a) for a in procedure.pain_assessments.all()]
        timeline += [TimelineEvent(f.seen_on, "follow_up", f) for f in procedure.follow_ups.all()]
    timeline.sort(key=lambda e: (e.on or date.min, _same_day_order(e), e.record.pk))
    return PatientOverview(
        patient=patient,
        fractures=fractures,
        eligibility=eligibility,
        procedures=procedures,
        index_procedure=index_procedure,
        age=patient_age(patient, index_procedure.performed_on if index_procedure else None),
        group=patient_group(f.etiology for f in fractures if not f.is_voided),
        timeline=timeline,
    )
