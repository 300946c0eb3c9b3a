"""Storing an answer frame (one row per answered item, :mod:`vertebro.stats.instrument_scores`) in
the registry: all of it or nothing, every refused row named by its line; re-storing changes nothing.

Each (patient, instrument, timepoint, days) group is one response of the patient's index procedure,
answered ``days`` after it. A group already stored with the same answers is unchanged; with other
answers it is updated through :func:`instrument_response_update` (history keeps the old ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from django.db import transaction

from ...domain.errors import DomainError
from ...domain.timepoints import UNSCHEDULED
from ...stats.validate import FlatDataError, FlatProblem
from ..models import InstrumentResponse, Patient, Procedure
from .instruments import (
    instrument_definition,
    instrument_response_record,
    instrument_response_update,
    parse_instrument_answers,
    stored_entries_as_answers,
)

__all__ = ["InstrumentStoreCounts", "instrument_answers_store"]

_REQUIRED = ("patient_id", "instrument", "timepoint", "days", "item", "answer")


@dataclass(frozen=True)
class InstrumentStoreCounts:
    """Responses created, updated and found unchanged by one store."""

    created: int
    updated: int
    unchanged: int


class _Rejected(Exception):
    """Raised inside the transaction so that nothing of a refused file stays written."""


def instrument_answers_store(
    *, frame: pd.DataFrame, source_name: str = "input", lines: Sequence[int] | None = None, source: str = "import", user=None  # noqa: ANN001
) -> InstrumentStoreCounts:
    """Store every response of an answer frame, or nothing.

    Raises
    ------
    FlatDataError
        Every problem with its line, column, value and rule: a missing column, an unknown patient
        (or one without a procedure), an unknown instrument or item, an answer its item refuses, a
        day outside every window. Nothing is written.
    """
    line_of = np.asarray(lines if lines is not None else np.arange(len(frame)) + 2)
    missing = [column for column in _REQUIRED if column not in frame.columns]
    if missing:
        raise FlatDataError([FlatProblem(source_name, 1, c, None, f"this required column is missing; an answer file needs {', '.join(_REQUIRED)}") for c in missing])
    text = frame.astype(str).apply(lambda column: column.str.strip())
    if "instance" not in text.columns:
        text["instance"] = ""
    text["instrument"] = text["instrument"].str.casefold()
    text["timepoint"] = text["timepoint"].str.casefold()
    text["_line"] = line_of
    index = _index_procedures(sorted(set(text["patient_id"])))
    problems: list[FlatProblem] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    try:
        with transaction.atomic():
            for (patient, code, timepoint, days), group in text.groupby(["patient_id", "instrument", "timepoint", "days"], sort=False):
                first_line = int(group["_line"].iloc[0])
                try:
                    outcome = _store_group(group, patient, code, timepoint, days, index, source, user)
                except _GroupProblem as problem:
                    problems.append(FlatProblem(source_name, problem.line or first_line, problem.column, problem.value, problem.rule))
                    continue
                counts[outcome] += 1
            if problems:
                raise _Rejected
    except _Rejected:
        raise FlatDataError(problems) from None
    return InstrumentStoreCounts(**counts)


@dataclass
class _GroupProblem(Exception):
    column: str
    value: object
    rule: str
    line: int | None = None


def _index_procedures(study_ids: list[str]) -> dict[str, Procedure]:
    index: dict[str, Procedure] = {}
    patients = Patient.objects.filter(study_id__in=study_ids).values_list("id", "study_id")
    by_pk = dict(patients)
    for procedure in Procedure.objects.filter(patient_id__in=by_pk).order_by("patient_id", "performed_on", "id"):
        index.setdefault(by_pk[procedure.patient_id], procedure)
    return index


def _answers(group: pd.DataFrame, repeating: bool) -> dict[str, object]:
    entries: dict[str, dict[str, object]] = {}
    for item, answer, instance, line in zip(group["item"], group["answer"], group["instance"], group["_line"]):
        entry = entries.setdefault(instance if repeating else "", {})
        key = item.casefold()
        if key in entry:
            raise _GroupProblem("item", item, f"{item} is answered twice in this assessment", int(line))
        entry[key] = None if answer in ("", "nan") else answer
    if repeating:
        return {"entries": [entries[key] for key in sorted(entries, key=lambda k: (len(k), k))]}
    return next(iter(entries.values()), {})


def _line_of(group: pd.DataFrame, field: str) -> int | None:
    item = field.rsplit(": ", 1)[-1].casefold()
    match = group.loc[group["item"].str.casefold() == item, "_line"]
    return int(match.iloc[0]) if len(match) else None


def _store_group(group, patient, code, timepoint, days, index, source, user) -> str:  # noqa: ANN001
    try:
        definition = instrument_definition(code)
    except DomainError as error:
        raise _GroupProblem("instrument", code, error.rule) from error
    procedure = index.get(patient)
    if procedure is None:
        raise _GroupProblem("patient_id", patient, "no patient with this study id and a procedure is in the registry; import the patients first")
    try:
        day = int(days)
    except ValueError:
        raise _GroupProblem("days", days, "days from the index procedure must be a whole number") from None
    answers = _answers(group, definition.repeating)
    assessed_on = procedure.performed_on + timedelta(days=day)
    try:
        parsed = parse_instrument_answers(definition, answers)
        existing = None
        if timepoint != UNSCHEDULED:
            existing = InstrumentResponse.objects.filter(procedure=procedure, instrument=definition.code, timepoint=timepoint).first()
        if existing is None:
            with transaction.atomic():
                instrument_response_record(
                    procedure=procedure, instrument=code, assessed_on=assessed_on, answers=answers,
                    timepoint=timepoint, source=source, user=user,
                )  # fmt: skip
            return "created"
        if existing.assessed_on == assessed_on and parse_instrument_answers(definition, stored_entries_as_answers(existing)) == parsed:
            return "unchanged"
        with transaction.atomic():
            instrument_response_update(response=existing, expected_version=existing.version, answers=answers, assessed_on=assessed_on, user=user)
        return "updated"
    except DomainError as error:
        raise _GroupProblem("answer" if error.field not in ("timepoint", "assessed_on") else error.field, error.value, f"{error.field}: {error.rule}", _line_of(group, str(error.field))) from error

