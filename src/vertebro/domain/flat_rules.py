"""The rules of the flat format, written once (issue 12): the import (``interop.flat_validate``) and the
analysis (``stats.validate``) both take every rule from here, so a rule changes in one place.

Two kinds of rule live here:

* **cell rules**, :func:`cell_rules`: for each column, the domain parser that turns one cell's text into
  a value or raises :class:`~vertebro.domain.errors.DomainError` naming the rule; :func:`parse_distinct`
  applies one to every distinct value of a column once (a million rows hold a few thousand distinct
  cells);
* **row rules**: which rows say the same patient and timepoint twice (:func:`repeated_assessments`), which
  patients' fixed fields disagree (:func:`conflicting_patients`), and what a row giving a missing-data
  reason may hold (:data:`RULE_REASON_WITH_SCORE`).

How a broken rule is reported differs by design, and stays with each caller: the import marks every
row it will leave out (all rows of a repeated pair, every row of a conflicting patient) in its error
report; the analysis refuses the file and points at the line to correct. Pure numpy/pandas: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from . import rules
from .errors import DomainError
from .levels import parse_levels
from .timepoints import SCHEDULE, UNSCHEDULED
from .vocabulary import (
    ASSESSMENT_SOURCE,
    ETIOLOGY,
    INSTRUMENT,
    MISSING_REASON,
    PATHOLOGIC_BASIS,
    PATHOLOGIC_CAUSE,
    SEX,
    VENUE,
    Vocabulary,
)

__all__ = [
    "CODED_COLUMNS",
    "FIXED_COLUMNS",
    "RULE_REASON_WITH_SCORE",
    "TIMEPOINT",
    "cell_rules",
    "conflicting_patients",
    "parse_distinct",
    "repeated_assessments",
]

#: The timepoints as a vocabulary: a code or a label is accepted, like every coded column.
TIMEPOINT = Vocabulary("timepoint", tuple((tp.code, tp.label) for tp in SCHEDULE) + ((UNSCHEDULED, "Unscheduled"),))
#: A patient's fixed fields: the same on every row of that patient (a blank cell is no second value).
FIXED_COLUMNS: tuple[str, ...] = (
    "site", "sex", "age", "birth_date", "etiology", "procedure_date", "levels", "cement_ml",
    "mrn", "name", "pathologic_cause", "pathologic_basis",
)  # fmt: skip
#: A row that says why a score is missing carries no score.
RULE_REASON_WITH_SCORE = "a missing-data reason goes on a row without a score: leave vps or missing_reason empty"
#: The coded columns and their vocabularies (a code or a label is accepted).
CODED_COLUMNS: dict[str, Vocabulary] = {
    "sex": SEX,
    "etiology": ETIOLOGY,
    "timepoint": TIMEPOINT,
    "venue": VENUE,
    "instrument": INSTRUMENT,
    "pathologic_cause": PATHOLOGIC_CAUSE,
    "pathologic_basis": PATHOLOGIC_BASIS,
    "missing_reason": MISSING_REASON,
    "source": ASSESSMENT_SOURCE,
}


def whole_days(value: str) -> int:
    """Days from the procedure: a whole number (its range is :func:`rules.check_assessment_days`, which
    the callers apply with the timepoint, so that a score too early is named as such)."""
    rule = "days from the procedure must be a whole number"
    number = rules.plain_number(value, field="days", rule=rule)
    if not number.is_integer():
        raise DomainError("days", value, rule)
    if abs(number) > 1e9:  # beyond any date; the domain's range rule names it (and no integer overflows)
        rules.check_assessment_days(int(number), field="days")
    return int(number)


def _birth_date(value: str, *, today: date) -> date:
    """A date of birth: an ISO date, not in the future (the 1980 floor of registry dates does not apply)."""
    born = rules.parse_iso_date(value, field="birth_date")
    if born > today:
        raise DomainError("birth_date", value, f"a birth date cannot lie after today ({today})")
    return born


def _cement(value: str) -> float:
    """A number; the per-level bound needs the levels and is checked with them."""
    return rules.plain_number(
        value, field="cement_ml", rule=f"cement volume must be more than 0 and at most {rules.CEMENT_ML_MAX:g} ml per level"
    )


def cell_rules(today: date | None = None) -> dict[str, Callable[[str], object]]:
    """The parser of every column's cells (stripped, non-blank text); ``today`` bounds the dates.

    Returns
    -------
    dict
        Column name to a function of one cell: the parsed value (a code for a coded column, a date, a
        number, a bool, a tuple of levels) or :class:`DomainError` naming the rule.
    """
    today = today or date.today()
    parsers: dict[str, Callable[[str], object]] = {
        column: (lambda v, vocabulary=vocabulary, column=column: vocabulary.parse(v, field=column))
        for column, vocabulary in CODED_COLUMNS.items()
    }
    for column in ("procedure_date", "assessed_on"):
        parsers[column] = lambda v, column=column: rules.parse_date(v, field=column, today=today)
    parsers.update(
        birth_date=lambda v: _birth_date(v, today=today),
        age=lambda v: rules.parse_age(v, field="age"),
        vps=lambda v: rules.parse_score(v, field="vps"),
        days=whole_days,
        recurrent_pain=lambda v: rules.parse_flag(v, field="recurrent_pain"),
        levels=parse_levels,
        cement_ml=_cement,
    )
    return parsers


def parse_distinct(values: Sequence[object], parse: Callable[[str], object]) -> tuple[np.ndarray, np.ndarray]:
    """``parse`` each distinct cell once.

    Parameters
    ----------
    values : sequence
        Distinct cells (stripped text; None for blank, which is not parsed).
    parse : callable
        A cell rule of :func:`cell_rules`.

    Returns
    -------
    parsed, broken : numpy.ndarray of object
        ``len(values) + 1`` entries each, the last for "no value" (code -1): the parsed value or None,
        and the rule the value broke or None.
    """
    parsed = np.empty(len(values) + 1, dtype="object")
    broken = np.empty(len(values) + 1, dtype="object")
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            parsed[i] = parse(value)
        except DomainError as exc:
            broken[i] = exc.rule
    return parsed, broken


def repeated_assessments(patients: np.ndarray, timepoints: np.ndarray, days_of_unscheduled: np.ndarray) -> np.ndarray:
    """Rows that give a patient a second assessment at one timepoint: the rule "one score per patient and
    timepoint" (unscheduled assessments may repeat, on different days).

    Parameters
    ----------
    patients, timepoints : numpy.ndarray of int
        Codes per row, -1 where missing or broken (such rows are never repeats).
    days_of_unscheduled : numpy.ndarray of int
        The day of each unscheduled row (any integer: days from the procedure or a calendar day); ignored
        on scheduled rows.

    Returns
    -------
    numpy.ndarray of int64
        A key per row, equal for the rows that say the same thing twice, -1 for every row that breaks
        nothing. Callers report the rows of a key in their own way.
    """
    patients = np.asarray(patients, dtype="int64")
    timepoints = np.asarray(timepoints, dtype="int64")
    unscheduled = timepoints == TIMEPOINT.codes.index(UNSCHEDULED)
    day_codes = pd.factorize(np.where(unscheduled, days_of_unscheduled, 0))[0].astype("int64")
    keyed = (patients >= 0) & (timepoints >= 0)
    key = (patients * len(TIMEPOINT.codes) + timepoints) * (int(day_codes.max(initial=0)) + 1) + day_codes
    repeated = np.zeros(len(patients), dtype=bool)
    repeated[keyed] = pd.Series(key[keyed]).duplicated(keep=False).to_numpy()
    return np.where(repeated, key, -1)


def conflicting_patients(patients: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Patients whose rows give two different values of one fixed field (sex, age, site, etiology, ...):
    a blank cell (code -1) is no second value.

    Parameters
    ----------
    patients, values : numpy.ndarray of int
        Codes per row, -1 where missing.

    Returns
    -------
    numpy.ndarray of bool
        Per patient code: True when that patient's values disagree.
    """
    patients = np.asarray(patients, dtype="int64")
    values = np.asarray(values, dtype="int64")
    count = int(patients.max(initial=-1)) + 1
    known = (patients >= 0) & (values >= 0)
    if not known.any():
        return np.zeros(count, dtype=bool)
    width = int(values.max()) + 1
    pairs = pd.unique(patients[known] * width + values[known])
    return np.bincount(pairs // width, minlength=count) > 1
