"""The two tidy shapes of instrument data, their CSV files, validation and scoring.

**Score frame** (what the statistics read), one row per patient, measure and timepoint:

====================  ===========================================================================
``patient_id``        the patient, as in the pain flat file (covariates come from there)
``instrument``        optional: the instrument code (``rdq24``, ``odi``, ``eq5d5l``, ``analgesics``);
                      when given it must be the measure's instrument
``measure``           a measure code of :data:`vertebro.domain.instruments.MEASURES`
``timepoint``         a timepoint code (baseline, post, 1w … 12m, unscheduled)
``days``              optional: days from the index procedure; must lie in the timepoint's window
``score``             the measure's value, within its range (not rounded)
====================  ===========================================================================

**Answer frame** (what a form, an import or the survey records), one row per answered item:

====================  ===========================================================================
``patient_id``, ``instrument``, ``timepoint``, ``days``
                      as above (``instrument`` required)
``instance``          1, 2, … the entry of a repeating instrument (one per analgesic); empty or 1
                      otherwise
``item``              an item code of the instrument (``odi_03``, ``eq5d_vas``, ``drug``)
``answer``            as :meth:`vertebro.domain.instruments.Item.parse` accepts it; empty =
                      unanswered
====================  ===========================================================================

:func:`score_answer_frame` turns answers into scores with the definitions' rules, so a score can
never disagree with its answers. :func:`load_instrument_csv` reads either file (it tells them apart
by their header) and returns the score frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.errors import DomainError
from ..domain.instruments import INSTRUMENT_OF_MEASURE, INSTRUMENTS, MEASURES
from ..domain.timepoints import BY_CODE, TIMEPOINT_CODES, UNSCHEDULED
from ..errors import VertebroError
from .validate import FlatDataError, FlatProblem, read_csv_as_text

__all__ = [
    "ANSWER_COLUMNS",
    "SCORE_COLUMNS",
    "load_instrument_csv",
    "score_answer_frame",
    "validate_scores",
]

SCORE_COLUMNS: tuple[str, ...] = ("patient_id", "instrument", "measure", "timepoint", "days", "score")
_SCORE_REQUIRED = ("patient_id", "measure", "timepoint", "score")
ANSWER_COLUMNS: tuple[str, ...] = ("patient_id", "instrument", "timepoint", "days", "instance", "item", "answer")
_ANSWER_REQUIRED = ("patient_id", "instrument", "timepoint", "item", "answer")


def load_instrument_csv(path: str | Path) -> pd.DataFrame:
    """Read a score file or an answer file and return the validated score frame.

    Raises
    ------
    VertebroError
        When the file is missing, unreadable, or its header is neither layout.
    FlatDataError
        Every broken rule with its line, column, value and rule; nothing is returned.
    """
    path = Path(path)
    raw = read_csv_as_text(path, kind="an instrument score or answer CSV file", rows="one line per score or answer")
    lines = np.arange(len(raw)) + 2
    blank = (raw == "").all(axis=1).to_numpy() if len(raw.columns) else np.zeros(len(raw), dtype=bool)
    raw, lines = raw.loc[~blank].reset_index(drop=True), lines[~blank]
    if {"item", "answer"} <= set(raw.columns):
        return score_answer_frame(raw, source=str(path), lines=lines)
    if {"measure", "score"} <= set(raw.columns):
        return validate_scores(raw, source=str(path), lines=lines)
    raise VertebroError(
        f"{path} is neither an instrument score file (columns {', '.join(_SCORE_REQUIRED)}) nor an answer file "
        f"(columns {', '.join(_ANSWER_REQUIRED)}); its header is {', '.join(raw.columns)}."
    )


def validate_scores(df: pd.DataFrame, *, source: str = "input", lines: Sequence[int] | None = None) -> pd.DataFrame:
    """Check a score frame and return it typed: columns :data:`SCORE_COLUMNS` (``days`` Int64, may be NA).

    Raises
    ------
    FlatDataError
        A missing column; an unknown measure, instrument or timepoint; a score outside its measure's
        range; days outside the timepoint's window; or a patient with two scores of one measure at one
        scheduled timepoint.
    """
    line_of = np.asarray(lines if lines is not None else np.arange(len(df)) + 2)
    missing = [column for column in _SCORE_REQUIRED if column not in df.columns]
    if missing:
        raise FlatDataError([FlatProblem(source, 1, c, None, f"this required column is missing; a score file needs {', '.join(_SCORE_REQUIRED)}") for c in missing])
    problems: list[FlatProblem] = []

    def flag(mask, column: str, rule) -> None:
        for position in np.flatnonzero(np.asarray(mask)):
            value = df[column].iloc[position]
            problems.append(FlatProblem(source, int(line_of[position]), column, value, rule(position) if callable(rule) else rule))

    patient = df["patient_id"].astype(str).str.strip()
    flag(patient == "", "patient_id", "every row needs a patient_id")
    measure = df["measure"].astype(str).str.strip().str.casefold()
    flag(~measure.isin(list(MEASURES)), "measure", f"measure must be one of {', '.join(MEASURES)}")
    timepoint = df["timepoint"].astype(str).str.strip().str.casefold()
    flag(~timepoint.isin(list(TIMEPOINT_CODES)), "timepoint", f"timepoint must be one of {', '.join(TIMEPOINT_CODES)}")
    expected_instrument = measure.map(INSTRUMENT_OF_MEASURE)
    if "instrument" in df.columns:
        instrument = df["instrument"].astype(str).str.strip().str.casefold()
        wrong = (instrument != "") & expected_instrument.notna() & (instrument != expected_instrument)
        flag(wrong, "instrument", lambda i: f"measure {measure.iloc[i]} belongs to instrument {expected_instrument.iloc[i]}")

    score = pd.to_numeric(df["score"], errors="coerce")
    low, high = measure.map({c: m.minimum for c, m in MEASURES.items()}), measure.map({c: m.maximum for c, m in MEASURES.items()})
    known = measure.isin(list(MEASURES))
    out_of_range = known & (score.isna() | (score < low - 1e-9) | (score > high + 1e-9))
    flag(out_of_range, "score", lambda i: f"a {MEASURES[measure.iloc[i]].label} score must be a number from {low.iloc[i]:g} to {high.iloc[i]:g}")

    days = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if "days" in df.columns:
        text = df["days"].astype(str).str.strip()
        number = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (text != "") & (number.isna() | (number % 1 != 0))
        flag(bad, "days", "days from the procedure must be a whole number")
        days = number.where(~bad).astype("Int64")
        first = timepoint.map({c: tp.first_day for c, tp in BY_CODE.items()})
        last = timepoint.map({c: tp.last_day for c, tp in BY_CODE.items()})
        outside = days.notna() & first.notna() & ((days < first) | (days > last))
        flag(outside.fillna(False), "days", lambda i: f"day {days.iloc[i]} lies outside the {timepoint.iloc[i]} window ({first.iloc[i]:g}..{last.iloc[i]:g} days from the procedure)")

    clean = pd.DataFrame(
        {"patient_id": patient, "instrument": expected_instrument, "measure": measure, "timepoint": timepoint,
         "days": days, "score": score.astype(np.float64)}  # fmt: skip
    )
    scheduled = clean["timepoint"] != UNSCHEDULED
    repeated = clean[scheduled].duplicated(["patient_id", "measure", "timepoint"], keep="first")
    flag(scheduled & repeated.reindex(clean.index, fill_value=False), "timepoint",
         lambda i: f"patient {patient.iloc[i]} has a second {measure.iloc[i]} score at {timepoint.iloc[i]}; one per scheduled timepoint")  # fmt: skip
    if problems:
        raise FlatDataError(problems)
    return clean.reset_index(drop=True)


def score_answer_frame(df: pd.DataFrame, *, source: str = "input", lines: Sequence[int] | None = None) -> pd.DataFrame:
    """Score item answers with the instrument definitions and return the validated score frame.

    Each (patient, instrument, timepoint, days) is one completed instrument; for a repeating
    instrument its rows are grouped into entries by ``instance``. Unanswered items are empty answers
    or absent rows: the definitions' missing-item rules decide (an ODI with two sections missing
    scores None, and a measure whose score is None gets no row).

    Raises
    ------
    FlatDataError
        A missing column, an unknown instrument or item, an answer its item refuses, or an item answered
        twice in one assessment; every problem with its line.
    """
    line_of = np.asarray(lines if lines is not None else np.arange(len(df)) + 2)
    missing = [column for column in _ANSWER_REQUIRED if column not in df.columns]
    if missing:
        raise FlatDataError([FlatProblem(source, 1, c, None, f"this required column is missing; an answer file needs {', '.join(_ANSWER_REQUIRED)}") for c in missing])
    frame = df.astype(str).apply(lambda column: column.str.strip())
    frame["instrument"] = frame["instrument"].str.casefold()
    frame["timepoint"] = frame["timepoint"].str.casefold()
    for column in ("days", "instance"):
        if column not in frame.columns:
            frame[column] = ""
    frame["_line"] = line_of
    problems: list[FlatProblem] = []
    rows: list[dict[str, object]] = []
    unknown = ~frame["instrument"].isin(list(INSTRUMENTS))
    for position in np.flatnonzero(unknown.to_numpy()):
        problems.append(FlatProblem(source, int(line_of[position]), "instrument", frame["instrument"].iloc[position],
                                    f"instrument must be one of {', '.join(INSTRUMENTS)}"))  # fmt: skip
    keys = ["patient_id", "instrument", "timepoint", "days"]
    for (patient, code, timepoint, days), group in frame[~unknown].groupby(keys, sort=False):
        instrument = INSTRUMENTS[code]
        entries: dict[str, dict[str, object]] = {}
        for item, answer, instance, line in zip(group["item"], group["answer"], group["instance"], group["_line"]):
            entry = entries.setdefault(instance if instrument.repeating else "", {})
            try:
                instrument.item(item.casefold())
            except DomainError as error:
                problems.append(FlatProblem(source, int(line), "item", item, error.rule))
                continue
            if item.casefold() in entry:
                problems.append(FlatProblem(source, int(line), "item", item, f"{item} is answered twice in this {code} assessment of {patient} at {timepoint}"))
                continue
            entry[item.casefold()] = answer
        answers = {"entries": list(entries.values())} if instrument.repeating else next(iter(entries.values()), {})
        try:
            result = instrument.score(answers)
        except DomainError as error:
            line = _line_of_item(group, error.field)
            problems.append(FlatProblem(source, line, "answer", error.value, f"{error.field}: {error.rule}"))
            continue
        for measure, value in result.values.items():
            if value is not None:
                rows.append({"patient_id": patient, "instrument": code, "measure": measure, "timepoint": timepoint,
                             "days": days, "score": value, "_line": int(group["_line"].iloc[0])})  # fmt: skip
    if problems:
        raise FlatDataError(problems)
    scores = pd.DataFrame(rows, columns=[*SCORE_COLUMNS, "_line"])
    return validate_scores(scores[list(SCORE_COLUMNS)].astype({"score": object}), source=source, lines=scores["_line"].to_numpy())


def _line_of_item(group: pd.DataFrame, item: str) -> int:
    match = group.loc[group["item"].str.casefold() == str(item).casefold(), "_line"]
    return int(match.iloc[0] if len(match) else group["_line"].iloc[0])
