"""Data-capture writes that span several records, each all-or-nothing (the web forms call these).

They compose the entity services of ``clinical.py`` and the locking of ``records.py``: a procedure with
its complications, a procedure edit that also changes its treated levels, a follow-up with the score
taken at the visit, and an eligibility override that refuses a stale checklist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from ...domain import rules
from ...domain.errors import DomainError
from ...domain.timepoints import BY_CODE
from ..models import EligibilityAssessment, FollowUp, Fracture, PainAssessment, Patient, Procedure, TreatedLevel
from .clinical import check_procedure_dates, complication_create, eligibility_override, follow_up_record, pain_assessment_record, procedure_create
from .records import EditConflict, record_delete, record_save, record_update


@transaction.atomic
def procedure_with_complications_create(
    *,
    patient: Patient,
    procedure: dict[str, Any],
    treated: Sequence[tuple[Fracture, float | None]],
    complications: Sequence[dict[str, Any]] = (),
    user=None,  # noqa: ANN001
) -> Procedure:
    """Record a procedure, its treated levels and its complications, or nothing at all.

    ``procedure`` holds the keyword arguments of :func:`clinical.procedure_create` other than patient,
    treated and user; each item of ``complications`` those of :func:`clinical.complication_create`.
    Raises whatever those services raise (``EligibilityBlocked``, ``DomainError``, ``ValidationError``).
    """
    created = procedure_create(patient=patient, treated=list(treated), user=user, **procedure)
    for complication in complications:
        complication_create(procedure=created, user=user, **complication)
    return created


@transaction.atomic
def procedure_update(
    *,
    procedure: Procedure,
    expected_version: int,
    changes: dict[str, Any],
    treated: Sequence[tuple[Fracture, float | None]],
    user=None,  # noqa: ANN001
) -> Procedure:
    """Change a procedure and the levels it treated, as one edit under the procedure's version.

    Levels no longer ticked are deleted (their history keeps them), new ones added, changed cement
    volumes updated. The procedure's version grows by one whenever anything changed, so a second
    editor working from the old version gets :class:`EditConflict` — for the levels too.
    """
    current = Procedure.objects.select_for_update().get(pk=procedure.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, attempted={**changes, "treated": list(treated)}, expected_version=expected_version)
    new_date = changes.get("performed_on", current.performed_on)
    wanted = {fracture.pk: cement for fracture, cement in treated}
    existing = {level.fracture_id: level for level in TreatedLevel.objects.filter(procedure=current).select_related("fracture")}
    if new_date != current.performed_on:
        _check_scores_stay_in_windows(current, new_date)
    if new_date != current.performed_on or wanted.keys() - existing.keys():
        check_procedure_dates(patient=current.patient, performed_on=new_date, fractures=[fracture for fracture, _ in treated])
    level_notes = []
    for fracture_id, level in existing.items():
        if fracture_id not in wanted:
            record_delete(record=level, user=user, reason="level no longer marked as treated")
            level_notes.append(f"removed level {level.fracture}")
        elif wanted[fracture_id] != level.cement_ml:
            record_update(record=level, expected_version=level.version, changes={"cement_ml": wanted[fracture_id]}, user=user)
            level_notes.append(f"cement at {level.fracture} {level.cement_ml} → {wanted[fracture_id]} ml")
    for fracture, cement in treated:
        if fracture.pk not in existing:
            if fracture.patient_id != current.patient_id:
                raise DomainError("levels", str(fracture), "a procedure treats only its own patient's fractures")
            record_save(record=TreatedLevel(procedure=current, fracture=fracture, cement_ml=cement), user=user)
            level_notes.append(f"added level {fracture}")
    field_changes = {name: value for name, value in changes.items() if getattr(current, name) != value}
    if not field_changes and not level_notes:
        return current
    return record_update(
        record=current,
        expected_version=expected_version,
        changes=field_changes,
        user=user,
        reason="; ".join(level_notes) or None,
    )


def _check_scores_stay_in_windows(procedure: Procedure, performed_on) -> None:  # noqa: ANN001
    """A new procedure date must leave every recorded score inside its timepoint's window (an
    unscheduled one no more than 30 days before it) and every follow-up after it."""
    misplaced = []
    for assessment in PainAssessment.objects.filter(procedure=procedure).order_by("assessed_on"):
        days = (assessment.assessed_on - performed_on).days
        window = BY_CODE.get(assessment.timepoint)
        if (window is not None and not window.contains(days)) or not (rules.ASSESSMENT_DAYS_MIN <= days <= rules.ASSESSMENT_DAYS_MAX):
            misplaced.append(f"{assessment.timepoint} score of {assessment.assessed_on}")
    for response in procedure.instrument_responses.filter(assessed_on__isnull=False).order_by("assessed_on"):
        days = (response.assessed_on - performed_on).days
        window = BY_CODE.get(response.timepoint)
        if (window is not None and not window.contains(days)) or not (rules.ASSESSMENT_DAYS_MIN <= days <= rules.ASSESSMENT_DAYS_MAX):
            misplaced.append(f"{response.timepoint} {response.instrument} of {response.assessed_on}")
    early = procedure.follow_ups.filter(seen_on__lt=performed_on).order_by("seen_on").values_list("seen_on", flat=True).first()
    if early is not None:
        raise DomainError(
            "performed_on", performed_on.isoformat(),
            f"this date would come after the follow-up of {early}; a follow-up comes after its procedure",
        )
    if misplaced:
        raise DomainError(
            "performed_on",
            performed_on.isoformat(),
            f"this date would put {len(misplaced)} recorded pain score(s) or instrument(s) outside their timepoint windows "
            f"({', '.join(misplaced[:3])}); correct those scores first",
        )


@transaction.atomic
def follow_up_with_score_record(
    *,
    procedure: Procedure,
    follow_up: dict[str, Any],
    score: float | None = None,
    score_timepoint: str | None = None,
    user=None,  # noqa: ANN001
) -> FollowUp:
    """Record a follow-up and, when given, the pain score taken at it (same date and venue)."""
    visit = follow_up_record(procedure=procedure, user=user, **follow_up)
    if score is not None:
        pain_assessment_record(
            procedure=procedure,
            assessed_on=visit.seen_on,
            score=score,
            timepoint=score_timepoint,
            venue=visit.venue,
            follow_up=visit,
            user=user,
        )
    return visit


@transaction.atomic
def eligibility_override_checked(
    *, assessment: EligibilityAssessment, expected_version: int, reason: str, user  # noqa: ANN001
) -> EligibilityAssessment:
    """:func:`clinical.eligibility_override`, refused with :class:`EditConflict` when the checklist
    changed since the investigator read it."""
    current = EligibilityAssessment.objects.select_for_update().get(pk=assessment.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, attempted={"override_reason": reason}, expected_version=expected_version)
    return eligibility_override(assessment=current, reason=reason, user=user)
