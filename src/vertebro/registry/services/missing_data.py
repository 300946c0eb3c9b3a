"""Missing-data codes: why a scheduled pain score will not be collected (MISSING_REASON).

A code closes the timepoint's worklist item. It is refused where a score already stands (the score
wins; void it first), and "window missed" is refused before the window has closed. Recording a code
again at the same timepoint changes the reason in place, so the history shows both, with who and when.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from ...domain.errors import DomainError
from ...domain.timepoints import BY_CODE
from ...domain.vocabulary import MISSING_REASON
from ..models import MissingData, Procedure
from .records import record_save, record_update


@transaction.atomic
def missing_data_record(
    *,
    procedure: Procedure,
    timepoint: str,
    reason: str,
    note: str = "",
    today: date,
    user=None,  # noqa: ANN001
) -> MissingData:
    """Record (or change) why ``procedure``'s score at ``timepoint`` is missing.

    Raises
    ------
    DomainError
        Unknown or unscheduled timepoint, unknown reason, a score already recorded at that timepoint,
        or "window missed" while the window is still open or not yet open. Nothing is written.
    """
    scheduled = BY_CODE.get(timepoint)
    if scheduled is None:
        raise DomainError("timepoint", timepoint, f"a missing-data code needs a scheduled timepoint ({', '.join(BY_CODE)})")
    reason = MISSING_REASON.parse(reason, field="reason")
    if procedure.pain_assessments.active().filter(timepoint=timepoint).exists():
        raise DomainError("timepoint", timepoint, "a score is recorded at this timepoint; void that score first if it was entered in error")
    closes_on = scheduled.closes_on(procedure.performed_on)
    if reason == "window_missed" and today <= closes_on:
        raise DomainError("reason", reason, f"the {scheduled.label} window is open until {closes_on.isoformat()}; it is missed only after that")
    note = note.strip()
    existing = MissingData.objects.select_for_update().filter(procedure=procedure, timepoint=timepoint).first()
    if existing is not None:
        return record_update(
            record=existing,
            expected_version=existing.version,
            changes={"reason": reason, "note": note, "recorded_by": user},
            user=user,
            reason="missing-data reason changed",
        )
    record = MissingData(
        patient_id=procedure.patient_id, procedure=procedure, timepoint=timepoint, reason=reason, note=note, recorded_by=user
    )
    return record_save(record=record, user=user)
