"""The order clinical dates must keep: nobody is treated before being born, a fracture is not treated
before its onset, a procedure follows the eligibility checklist that cleared it.

Each ``check_*`` raises :class:`DomainError` naming the field of the later record (the one a person
is entering) with the rule in words, and passes when either date is unknown. The ``RULE_*`` texts are
the same rules for vectorised validators (imports, ``vertebro db check``) that test whole columns.
A score more than 30 days before its procedure is :func:`vertebro.domain.rules.check_assessment_days`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .errors import DomainError

RULE_PROCEDURE_BEFORE_BIRTH = "the procedure date lies before the patient's date of birth"
RULE_ONSET_BEFORE_BIRTH = "the fracture onset lies before the patient's date of birth"
RULE_PROCEDURE_BEFORE_ONSET = "the procedure date lies before the onset of a fracture it treats"
RULE_PROCEDURE_BEFORE_CHECKLIST = "the procedure date lies before the patient's first eligibility checklist"


def _on(day: date) -> str:
    return day.isoformat()


def check_after_birth(day: date | None, birth_date: date | None, *, field: str, rule: str = RULE_PROCEDURE_BEFORE_BIRTH) -> None:
    """``day`` (a procedure; a fracture onset with ``rule=RULE_ONSET_BEFORE_BIRTH``) is on or after the
    date of birth."""
    if day is not None and birth_date is not None and day < birth_date:
        raise DomainError(field, _on(day), f"{rule} ({_on(birth_date)})")


def check_birth_before(birth_date: date | None, *, procedures: Iterable[date] = (), onsets: Iterable[date | None] = (), field: str = "birth_date") -> None:
    """A date of birth (entered or corrected) comes before every recorded procedure and fracture onset."""
    if birth_date is None:
        return
    for day, what in [*((p, "procedure") for p in procedures), *((o, "fracture onset") for o in onsets if o is not None)]:
        if day < birth_date:
            raise DomainError(field, _on(birth_date), f"the date of birth lies after the recorded {what} of {_on(day)}")


def check_procedure_after_onsets(performed_on: date, onsets: Iterable[tuple[str, date | None]], *, field: str = "performed_on") -> None:
    """A procedure comes on or after the onset of every fracture it treats (``onsets``: (level, onset))."""
    for level, onset in onsets:
        if onset is not None and performed_on < onset:
            raise DomainError(field, _on(performed_on), f"{RULE_PROCEDURE_BEFORE_ONSET} ({level}: onset {_on(onset)})")


def check_onset_before_procedures(onset: date | None, procedures: Iterable[date], *, field: str = "onset_date") -> None:
    """A fracture's onset (entered or corrected) comes on or before every procedure that treated it."""
    if onset is None:
        return
    for performed_on in procedures:
        if performed_on < onset:
            raise DomainError(field, _on(onset), f"the onset lies after the procedure of {_on(performed_on)} that treated this fracture")


def check_procedure_after_checklist(performed_on: date, checklist_dates: Iterable[date], *, field: str = "performed_on") -> None:
    """A procedure is on or after the patient's first eligibility checklist (when the patient has one:
    imported histories carry none)."""
    first = min(checklist_dates, default=None)
    if first is not None and performed_on < first:
        raise DomainError(field, _on(performed_on), f"{RULE_PROCEDURE_BEFORE_CHECKLIST} ({_on(first)}): a procedure follows its checklist")
