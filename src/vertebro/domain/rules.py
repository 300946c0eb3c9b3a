"""Validation rules on plain values. Models, forms and importers all call these.

Each ``check_*`` / ``parse_*`` function returns the clean value or raises :class:`DomainError` naming
the field, the value and the rule. Numeric limits live here as named constants so that database CHECK
constraints (registry) use the very same numbers.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from .errors import DomainError
from .timepoints import BY_CODE
from .vocabulary import ETIOLOGY, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE

SCORE_MIN, SCORE_MAX = 0.0, 10.0
AGE_MIN, AGE_MAX = 0, 120
CEMENT_ML_MAX = 20.0  # per level; a vertebral body rarely takes more than 10 ml
HEIGHT_LOSS_MAX = 100.0
#: Vertebroplasty was first reported in 1987; nothing in a registry can predate it by much.
EARLIEST_DATE = date(1980, 1, 1)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
#: Assessments belong to a procedure. The earliest is the baseline window's first day: a score taken
#: earlier belongs to no timepoint and is refused, never kept as "unscheduled" (PLAN.md, shared decision);
#: more than ten years after is a data-entry error.
ASSESSMENT_DAYS_MIN, ASSESSMENT_DAYS_MAX = BY_CODE["baseline"].first_day, 3650
RULE_SCORE_TOO_EARLY = (
    f"a score more than {-ASSESSMENT_DAYS_MIN} days before its procedure belongs to no timepoint "
    f"(the baseline window opens {-ASSESSMENT_DAYS_MIN} days before the procedure): check the date, or the procedure it belongs to"
)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


#: Said when a number is written with other digits than 0–9: Python's float() reads Arabic-Indic ('٣') and
#: fullwidth ('１０') digits as numbers, a registry field never does (a form, a file and the API agree).
RULE_ASCII_DIGITS = "written with the digits 0-9"


def plain_number(value: object, *, field: str, rule: str) -> float:
    """``float(value)`` for a number written in ASCII; anything else is refused by name with ``rule``
    (and, for a number in other digits, the digits it needs)."""
    if isinstance(value, str) and not value.isascii():
        raise DomainError(field, value, f"{rule}, {RULE_ASCII_DIGITS}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DomainError(field, value, rule) from None


def parse_score(value: object, *, field: str = "vps", scale: int = 10) -> float:
    """A pain score from 0 to ``scale``: 10 for NRS/VPS, 100 for a VAS in millimetres."""
    rule = f"pain score must be a number from 0 to {scale}"
    if _is_missing(value) or isinstance(value, bool):
        raise DomainError(field, value, rule)
    score = plain_number(value, field=field, rule=rule)
    if not (SCORE_MIN <= score <= SCORE_MAX * scale / 10):
        raise DomainError(field, value, rule)
    return score


def parse_age(value: object, *, field: str = "age") -> int:
    """Age in whole years, 0–120."""
    rule = f"age must be a whole number of years from {AGE_MIN} to {AGE_MAX}"
    if _is_missing(value) or isinstance(value, bool):
        raise DomainError(field, value, rule)
    number = plain_number(value, field=field, rule=rule)
    if not number.is_integer() or not (AGE_MIN <= number <= AGE_MAX):
        raise DomainError(field, value, rule)
    return int(number)


#: YYYY-MM-DD, optionally with the time a spreadsheet or database adds (``2012-03-04 00:00:00``).
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?"
)


def parse_iso_date(value: object, *, field: str) -> date:
    """A date written YYYY-MM-DD (a time of day, with or without a zone, may follow as spreadsheets and
    FHIR write it, and is dropped: the date is the one written);
    anything else, or a day the calendar does not have, is refused by name."""
    text = "" if _is_missing(value) else str(value).strip()
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise DomainError(field, value, "a date must be written YYYY-MM-DD")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise DomainError(field, value, "this day is not in the calendar (check the month and the day)") from None


def parse_date(
    value: object, *, field: str, today: date | None = None, earliest: date = EARLIEST_DATE
) -> date:
    """An ISO date (YYYY-MM-DD, see :func:`parse_iso_date`) between ``earliest`` (1980-01-01 unless
    given) and today."""
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        parsed = parse_iso_date(value, field=field)
    check_date_plausible(parsed, field=field, today=today, earliest=earliest)
    return parsed


def check_date_plausible(
    value: date, *, field: str, today: date | None = None, earliest: date = EARLIEST_DATE
) -> None:
    """Clinical dates lie between 1980 and today; pass ``earliest=EARLIEST_BIRTH_DATE`` for births."""
    latest = today or date.today()
    if not (earliest <= value <= latest):
        raise DomainError(field, value.isoformat(), f"a date must lie between {earliest} and today ({latest})")


def parse_cement_ml(value: object, *, field: str = "cement_ml") -> float:
    rule = f"cement volume must be more than 0 and at most {CEMENT_ML_MAX:g} ml per level"
    volume = plain_number(value, field=field, rule=rule)
    if not (0 < volume <= CEMENT_ML_MAX):
        raise DomainError(field, value, rule)
    return volume


def parse_height_loss(value: object, *, field: str = "height_loss_pct") -> float:
    rule = "height loss must be a percentage from 0 to 100"
    pct = plain_number(value, field=field, rule=rule)
    if not (0 <= pct <= HEIGHT_LOSS_MAX):
        raise DomainError(field, value, rule)
    return pct


def parse_flag(value: object, *, field: str) -> bool:
    """A yes/no value: 1/0, yes/no, y/n, true/false."""
    text = str(value).strip().casefold() if not _is_missing(value) else ""
    if text in ("1", "1.0", "yes", "y", "true", "t"):
        return True
    if text in ("0", "0.0", "no", "n", "false", "f"):
        return False
    raise DomainError(field, value, "a yes/no field takes 1 or 0 (yes or no)")


def check_pathology(etiology: str, cause: str | None, basis: str | None) -> None:
    """A pathologic fracture needs a cause and a basis; other fractures take neither."""
    ETIOLOGY.parse(etiology)
    if etiology == "pathologic":
        if not cause:
            raise DomainError("pathologic_cause", cause, "a pathologic fracture needs its cause")
        if not basis:
            raise DomainError(
                "pathologic_basis", basis, "a pathologic fracture needs its basis (imaging and/or biopsy)"
            )
        PATHOLOGIC_CAUSE.parse(cause, field="pathologic_cause")
        PATHOLOGIC_BASIS.parse(basis, field="pathologic_basis")
    elif cause or basis:
        raise DomainError(
            "pathologic_cause", cause or basis, f"only a pathologic fracture has a cause and basis, not an {etiology} one"
        )


def check_baseline_before_procedure(days: int, *, field: str = "assessed_on") -> None:
    """A baseline score is taken on or before the procedure day."""
    if days > 0:
        raise DomainError(field, days, "a baseline assessment must be on or before the procedure date")


def check_assessment_days(days: int, *, field: str = "assessed_on") -> None:
    """An assessment lies from the baseline window's first day (30 days before the procedure) to
    ``ASSESSMENT_DAYS_MAX`` days after it."""
    if days < ASSESSMENT_DAYS_MIN:
        raise DomainError(field, days, RULE_SCORE_TOO_EARLY)
    if days > ASSESSMENT_DAYS_MAX:
        raise DomainError(field, days, f"an assessment must lie within {ASSESSMENT_DAYS_MAX} days after its procedure")


def age_at(birth_date: date, on: date) -> int:
    """Age in whole years on a date (birthday not yet reached that year counts one less)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def check_consistent(field: str, values: list[object], *, patient_id: str) -> object:
    """The fixed fields of one patient (sex, age, site, etiology) must agree across their rows."""
    distinct = sorted({str(v) for v in values if not _is_missing(v)})
    if len(distinct) > 1:
        raise DomainError(
            field, " / ".join(distinct), f"patient {patient_id} has conflicting values across rows"
        )
    return values[0] if values else None
