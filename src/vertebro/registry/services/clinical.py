"""Services that write clinical records one at a time (forms, admin, scripts).

Each applies the domain rules first (so its errors name the field, value and rule), then the model's
own validation (fields, choices and every CHECK constraint), inside one transaction.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from ...domain import chronology, rules
from ...domain.eligibility import assess_eligibility
from ...domain.errors import DomainError
from ...domain.identifiers import parse_mrn_system
from ...domain.levels import parse_level
from ...domain.sites import parse_site_code
from ...domain.timepoints import UNSCHEDULED, check_timepoint_matches_days, derive_timepoint
from ...domain.vocabulary import (
    ANALGESIC,
    ASSESSMENT_SOURCE,
    COMPLICATION,
    ETIOLOGY,
    INSTRUMENT,
    LEAK_ROUTE,
    SEX,
    VENUE,
)
from ...errors import VertebroError
from ..models import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    PainAssessment,
    Patient,
    Procedure,
    Site,
    SiteMrnSystem,
    TreatedLevel,
)
from .records import record_save, record_update


class EligibilityBlocked(VertebroError):
    """An absolute contraindication stands and no investigator has overridden it."""


class SameLevelRecorded(DomainError):
    """The patient already has a fracture at this level: a second one is recorded only when the
    person confirms it is a new fracture (a repeated entry is the usual cause)."""


def site_create(*, code: str, name: str) -> Site:
    """A new site; its code must be a plain code (``domain.sites``: refused with the rule otherwise)."""
    return record_save(record=Site(code=parse_site_code(code, field="code"), name=name.strip()))


@transaction.atomic
def site_mrn_systems_set(*, site: Site, systems: list[str], user=None) -> list[str]:  # noqa: ANN001
    """Make ``systems`` (absolute URIs, in order: exports write the first) the site's MRN systems.

    Each is checked (``domain.identifiers``) before anything is written; one given twice is refused.
    Rows that stay at their position are kept; the others are removed and added, so the site's MRN
    systems history (append-only) says what changed and when.
    """
    wanted = [parse_mrn_system(s, field="mrn_system") for s in systems]
    twice = sorted({s for s in wanted if wanted.count(s) > 1})
    if twice:
        raise DomainError("mrn_system", twice[0], "an MRN system is given once per site")
    current = {row.position: row for row in site.mrn_systems.all()}
    for position, row in current.items():
        if position > len(wanted) or wanted[position - 1] != row.system:
            row._history_user = user
            row.delete()
    for position, system in enumerate(wanted, start=1):
        if position not in current or current[position].system != system:
            record_save(record=SiteMrnSystem(site=site, position=position, system=system), user=user)
    return wanted


def site_rename(*, site: Site, name: str) -> Site:
    """Give a site another name (its code, which records refer to, stays); the change is in its history."""
    site.name = name.strip()
    return record_save(record=site)


def patient_create(
    *,
    study_id: str,
    site: Site,
    sex: str,
    birth_date: date | None = None,
    age_at_index: int | None = None,
    mrn: str | None = None,
    name: str | None = None,
    user=None,  # noqa: ANN001
) -> Patient:
    if birth_date is not None:
        rules.check_date_plausible(birth_date, field="birth_date", earliest=rules.EARLIEST_BIRTH_DATE)
    if age_at_index is not None:
        age_at_index = rules.parse_age(age_at_index, field="age_at_index")
    check_study_id_available(study_id=study_id.strip())
    patient = Patient(
        study_id=study_id.strip(),
        site=site,
        sex=SEX.parse(sex),
        birth_date=birth_date,
        age_at_index=age_at_index,
        mrn=(mrn or "").strip() or None,
        name=(name or "").strip() or None,
    )
    return record_save(record=patient, user=user)


#: Said of a study id in use, whichever site holds it: the words never confirm that a record exists
#: at a site the person may not see.
STUDY_ID_TAKEN = "this study id is not available: choose another (if the patient is already registered, find them in the patient list)"


def check_study_id_available(*, study_id: str, patient: Patient | None = None) -> None:
    if Patient.objects.filter(study_id=study_id).exclude(pk=getattr(patient, "pk", None)).exists():
        raise DomainError("study_id", study_id, STUDY_ID_TAKEN)


def fracture_create(
    *,
    patient: Patient,
    level: str | None,
    etiology: str,
    pathologic_cause: str | None = None,
    pathologic_basis: str | None = None,
    primary_site: str = "",
    onset_date: date | None = None,
    mri_oedema: bool | None = None,
    height_loss_pct: float | None = None,
    same_level_confirmed: bool = False,
    user=None,  # noqa: ANN001
) -> Fracture:
    """Record a fracture. A second fracture at a level the patient already has is refused with
    :class:`SameLevelRecorded` unless ``same_level_confirmed``."""
    etiology = ETIOLOGY.parse(etiology)
    rules.check_pathology(etiology, pathologic_cause, pathologic_basis)
    if onset_date is not None:
        rules.check_date_plausible(onset_date, field="onset_date")
    chronology.check_after_birth(onset_date, patient.birth_date, field="onset_date", rule=chronology.RULE_ONSET_BEFORE_BIRTH)
    level = parse_level(level) if level else None
    if not same_level_confirmed:
        check_level_not_recorded(patient=patient, level=level)
    fracture = Fracture(
        patient=patient,
        level=level,
        etiology=etiology,
        pathologic_cause=pathologic_cause or None,
        pathologic_basis=pathologic_basis or None,
        primary_site=primary_site,
        onset_date=onset_date,
        mri_oedema=mri_oedema,
        height_loss_pct=None if height_loss_pct is None else rules.parse_height_loss(height_loss_pct),
    )
    return record_save(record=fracture, user=user)


def check_level_not_recorded(*, patient: Patient, level: str | None, fracture: Fracture | None = None) -> None:
    """Raise :class:`SameLevelRecorded` when another fracture of the patient is at ``level``."""
    if level is None:
        return
    others = patient.fractures.filter(level=level).exclude(pk=getattr(fracture, "pk", None))
    recorded = others.order_by("id").first()
    if recorded is not None:
        onset = f", onset {recorded.onset_date}" if recorded.onset_date else ""
        raise SameLevelRecorded(
            "level", level,
            f"{level} is already recorded as a fracture of this patient ({recorded.get_etiology_display().lower()}{onset}); "
            "if this is a second, new fracture at the same level, confirm it below, else edit the recorded one",
        )


@transaction.atomic
def patient_update(*, record: Patient, expected_version: int, changes: dict, user=None) -> Patient:  # noqa: ANN001
    """Change a patient's details; a date of birth must come before every recorded procedure and onset."""
    if changes.get("study_id", record.study_id) != record.study_id:
        check_study_id_available(study_id=changes["study_id"], patient=record)
    birth_date = changes.get("birth_date", record.birth_date)
    if birth_date != record.birth_date:
        chronology.check_birth_before(
            birth_date,
            procedures=record.procedures.values_list("performed_on", flat=True),
            onsets=record.fractures.values_list("onset_date", flat=True),
        )
    return record_update(record=record, expected_version=expected_version, changes=changes, user=user)


@transaction.atomic
def fracture_update(*, record: Fracture, expected_version: int, changes: dict, same_level_confirmed: bool = False, user=None) -> Fracture:  # noqa: ANN001
    """Change a fracture: its onset stays between the birth and the procedures that treated it, and a
    level another of the patient's fractures has needs ``same_level_confirmed``."""
    onset = changes.get("onset_date", record.onset_date)
    if onset != record.onset_date:
        chronology.check_after_birth(onset, record.patient.birth_date, field="onset_date", rule=chronology.RULE_ONSET_BEFORE_BIRTH)
        chronology.check_onset_before_procedures(onset, record.procedures.values_list("performed_on", flat=True))
    level = changes.get("level", record.level)
    if level != record.level and not same_level_confirmed:
        check_level_not_recorded(patient=record.patient, level=level, fracture=record)
    return record_update(record=record, expected_version=expected_version, changes=changes, user=user)


def check_procedure_dates(*, patient: Patient, performed_on: date, fractures: list[Fracture]) -> None:
    """A procedure comes after the patient's birth, the onset of each fracture it treats and the
    patient's first eligibility checklist."""
    chronology.check_after_birth(performed_on, patient.birth_date, field="performed_on")
    chronology.check_procedure_after_onsets(performed_on, [(f.level or "level not recorded", f.onset_date) for f in fractures])
    chronology.check_procedure_after_checklist(performed_on, patient.eligibility_assessments.values_list("assessed_on", flat=True))


def patient_eligibility_blocked(*, patient: Patient) -> bool:
    """True when the latest intake checklist has an absolute contraindication with no override."""
    latest = patient.eligibility_assessments.order_by("-assessed_on", "-id").first()
    return bool(latest and latest.blocked)


@transaction.atomic
def procedure_create(
    *,
    patient: Patient,
    performed_on: date,
    treated: list[tuple[Fracture, float | None]],
    kind: str = "vertebroplasty",
    operator: str = "",
    approach: str = "bipedicular",
    biopsy_taken: bool = False,
    biopsy_result: str | None = None,
    user=None,  # noqa: ANN001
) -> Procedure:
    """Record a procedure and the fractures it treated, with the cement volume at each level.

    Raises
    ------
    EligibilityBlocked
        When the patient's latest eligibility checklist has an absolute contraindication that no
        investigator has overridden.
    """
    rules.check_date_plausible(performed_on, field="performed_on")
    if patient_eligibility_blocked(patient=patient):
        raise EligibilityBlocked(
            f"patient {patient.study_id} has an absolute contraindication; an investigator must "
            "override it with a reason before a procedure can be recorded"
        )
    if not treated:
        raise DomainError("levels", None, "a procedure treats at least one fracture")
    check_procedure_dates(patient=patient, performed_on=performed_on, fractures=[fracture for fracture, _ in treated])
    procedure = record_save(
        record=Procedure(
            patient=patient,
            performed_on=performed_on,
            kind=kind,
            operator=operator,
            approach=approach,
            biopsy_taken=biopsy_taken,
            biopsy_result=biopsy_result or None,
        ),
        user=user,
    )
    for fracture, cement_ml in treated:
        if fracture.patient_id != patient.pk:
            raise DomainError("levels", str(fracture), "a procedure treats only its own patient's fractures")
        volume = None if cement_ml is None else rules.parse_cement_ml(cement_ml)
        record_save(record=TreatedLevel(procedure=procedure, fracture=fracture, cement_ml=volume), user=user)
    return procedure


def complication_create(
    *,
    procedure: Procedure,
    kind: str,
    leak_route: str | None = None,
    symptomatic: bool = False,
    noted_on: date | None = None,
    notes: str = "",
    user=None,  # noqa: ANN001
) -> Complication:
    kind = COMPLICATION.parse(kind, field="kind")
    if kind == "cement_leak":
        if not leak_route:
            raise DomainError("leak_route", leak_route, "a cement leak names its route")
        leak_route = LEAK_ROUTE.parse(leak_route, field="leak_route")
    elif leak_route:
        raise DomainError("leak_route", leak_route, "only a cement leak has a route")
    complication = Complication(
        procedure=procedure, kind=kind, leak_route=leak_route or None, symptomatic=symptomatic, noted_on=noted_on, notes=notes
    )
    return record_save(record=complication, user=user)


def follow_up_record(
    *,
    procedure: Procedure,
    seen_on: date,
    venue: str,
    recurrent_pain: bool = False,
    new_fracture_level: str | None = None,
    further_procedure: bool = False,
    analgesics: str | None = None,
    user=None,  # noqa: ANN001
    reason: str | None = None,
) -> FollowUp:
    rules.check_date_plausible(seen_on, field="seen_on")
    if seen_on < procedure.performed_on:
        raise DomainError("seen_on", seen_on.isoformat(), "a follow-up comes after its procedure")
    follow_up = FollowUp(
        patient_id=procedure.patient_id,
        procedure=procedure,
        seen_on=seen_on,
        venue=VENUE.parse(venue, field="venue"),
        recurrent_pain=recurrent_pain,
        new_fracture=bool(new_fracture_level),
        new_fracture_level=parse_level(new_fracture_level, field="new_fracture_level") if new_fracture_level else None,
        further_procedure=further_procedure,
        analgesics=ANALGESIC.parse(analgesics, field="analgesics") if analgesics else None,
    )
    return record_save(record=follow_up, user=user, reason=reason)


def assessment_timepoint(
    *, procedure: Procedure, assessed_on: date, timepoint: str | None = None, after_procedure: bool | None = None
) -> str:
    """The timepoint of an assessment: derived from the windows unless given, and checked either way."""
    days = (assessed_on - procedure.performed_on).days
    rules.check_assessment_days(days)
    if timepoint:
        check_timepoint_matches_days(timepoint, days)
    else:
        timepoint = derive_timepoint(days, after_procedure=after_procedure)
    if timepoint == "baseline":
        rules.check_baseline_before_procedure(days)
    return timepoint


def pain_assessment_record(
    *,
    procedure: Procedure,
    assessed_on: date,
    score: float,
    instrument: str = "vps",
    timepoint: str | None = None,
    after_procedure: bool | None = None,
    venue: str | None = None,
    follow_up: FollowUp | None = None,
    user=None,  # noqa: ANN001
    source: str = "staff",
    reason: str | None = None,
) -> PainAssessment:
    """Record a pain score. A 100 mm VAS (instrument ``vas100``) is given in mm and stored divided by 10.
    ``source`` says who gave it (ASSESSMENT_SOURCE; ``patient`` through an invitation)."""
    instrument = INSTRUMENT.parse(instrument, field="instrument")
    if instrument == "vas100":
        score = rules.parse_score(score, field="score", scale=100) / 10
    else:
        score = rules.parse_score(score, field="score")
    rules.check_date_plausible(assessed_on, field="assessed_on")
    timepoint = assessment_timepoint(
        procedure=procedure, assessed_on=assessed_on, timepoint=timepoint, after_procedure=after_procedure
    )
    if timepoint != UNSCHEDULED and procedure.pain_assessments.active().filter(timepoint=timepoint).exists():
        raise DomainError("timepoint", timepoint, "this procedure already has a score at that timepoint; edit it instead")
    if timepoint != UNSCHEDULED and procedure.missing_data.filter(timepoint=timepoint).exists():
        raise DomainError("timepoint", timepoint, "this timepoint is recorded as missing; change the missing-data record if the score was taken after all")
    assessment = PainAssessment(
        patient_id=procedure.patient_id,
        procedure=procedure,
        follow_up=follow_up,
        assessed_on=assessed_on,
        score=score,
        instrument=instrument,
        timepoint=timepoint,
        venue=VENUE.parse(venue, field="venue") if venue else None,
        source=ASSESSMENT_SOURCE.parse(source, field="source"),
    )
    return record_save(record=assessment, user=user, reason=reason)


def eligibility_record(
    *,
    patient: Patient,
    assessed_on: date,
    indications: list[str],
    absolute: list[str],
    relative: list[str],
    user=None,  # noqa: ANN001
) -> EligibilityAssessment:
    assess_eligibility(indications=indications, absolute=absolute, relative=relative)  # validates the codes
    assessment = EligibilityAssessment(
        patient=patient,
        assessed_on=assessed_on,
        indications=list(indications),
        absolute_contraindications=list(absolute),
        relative_contraindications=list(relative),
        assessed_by=user,
    )
    return record_save(record=assessment, user=user)


def eligibility_override(*, assessment: EligibilityAssessment, reason: str, user) -> EligibilityAssessment:  # noqa: ANN001
    """An investigator lets a procedure go ahead despite an absolute contraindication, saying why."""
    if not reason or not reason.strip():
        raise DomainError("override_reason", reason, "an override needs a reason")
    assessment.overridden_by = user
    assessment.override_reason = reason.strip()
    assessment.version += 1
    return record_save(record=assessment, user=user, reason=f"eligibility override: {reason.strip()}")
