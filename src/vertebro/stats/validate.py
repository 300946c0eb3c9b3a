"""Refuse malformed flat-format input before any statistic is computed.

Every problem names the source, the line (as in a CSV file: the header is line 1, the first data row
line 2), the column, the value and the rule broken. The rules and vocabularies are the domain layer's
(:mod:`vertebro.domain.rules`, :mod:`vertebro.domain.vocabulary`, :mod:`vertebro.domain.timepoints`),
so a file is refused for exactly the reasons the registry would refuse the same values.

Checks run column-wise on the whole frame; the domain parser is called only on the values that are not
already canonical, so it both explains a refusal and accepts the spellings the domain accepts (for
example ``Female`` for ``F``), while a million clean rows pass in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.errors import DomainError
from ..domain.flat import ANALYSIS_REQUIRED_COLUMNS, MISSING_REASON_COLUMN, wrong_separator
from ..domain.rules import (
    AGE_MAX,
    AGE_MIN,
    ASSESSMENT_DAYS_MAX,
    ASSESSMENT_DAYS_MIN,
    SCORE_MAX,
    SCORE_MIN,
    check_assessment_days,
    check_consistent,
    parse_age,
    parse_flag,
    parse_iso_date,
    parse_score,
)
from ..domain.timepoints import BY_CODE, TIMEPOINT_CODES, UNSCHEDULED, check_timepoint_matches_days
from ..domain.vocabulary import ETIOLOGY, MISSING_REASON, SEX
from ..errors import VertebroError

__all__ = [
    "RECURRENCE_COLUMNS",
    "FlatDataError",
    "FlatProblem",
    "load_flat_csv",
    "validate_flat",
]

#: Needed only for the recurrence section; without them it is null with a warning.
RECURRENCE_COLUMNS: tuple[str, ...] = ("days", "recurrent_pain")
#: Fixed per patient: every row of one patient must carry the same value.
_PATIENT_FIXED_COLUMNS: tuple[str, ...] = ("site", "sex", "age", "etiology")
#: The rule a row breaks when it gives both a score and a reason for the score's absence.
RULE_REASON_WITH_SCORE = "a missing-data reason goes on a row without a score: leave vps or missing_reason empty"
#: How many problems the error message spells out (all of them stay on ``FlatDataError.problems``).
_MESSAGE_PROBLEM_LIMIT = 25


@dataclass(frozen=True)
class FlatProblem:
    """One broken rule in flat-format input.

    Attributes
    ----------
    source : str
        The file (or ``"registry"``) the rows came from.
    line : int
        The line in the CSV file: 1 is the header, 2 the first data row.
    column : str
        The column holding the value.
    value : object
        The value as received (``None`` for a missing column).
    rule : str
        The rule in words.
    """

    source: str
    line: int
    column: str
    value: object
    rule: str

    def __post_init__(self) -> None:
        if isinstance(self.value, np.generic):  # show 130, not np.int64(130)
            object.__setattr__(self, "value", self.value.item())

    def __str__(self) -> str:
        where = "line 1 (header)" if self.line == 1 else f"line {self.line}"
        if self.value is None:
            return f"{self.source}, {where}, column {self.column}: {self.rule}"
        return f"{self.source}, {where}, column {self.column}: {self.value!r} is not allowed — {self.rule}"


class FlatDataError(VertebroError):
    """Flat-format input broke one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[FlatProblem]):
        self.problems: tuple[FlatProblem, ...] = tuple(sorted(problems, key=lambda p: (p.line, p.column)))
        shown = [f"  - {problem}" for problem in self.problems[:_MESSAGE_PROBLEM_LIMIT]]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(f"  - ... and {hidden} more")
        count = len(self.problems)
        source = self.problems[0].source if self.problems else "input"
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{source} was refused with {count} {noun}; correct them and run again:\n" + "\n".join(shown)
        )


def load_flat_csv(path: str | Path) -> pd.DataFrame:
    """Read a flat-format CSV file and return it validated (see :func:`validate_flat`).

    Blank lines are dropped but still counted, so line numbers in errors match a text editor's.

    Raises
    ------
    VertebroError
        When the file does not exist, is a folder, cannot be opened or is not a readable CSV file.
    FlatDataError
        When the rows break a rule.
    """
    path = Path(path)
    raw = read_csv_as_text(path, kind="a flat-format CSV file", rows="one line per pain assessment")
    lines = np.arange(len(raw)) + 2
    blank = _blank_rows(raw)
    if blank.any():
        raw, lines = raw.loc[~blank].reset_index(drop=True), lines[~blank]
    return _validated(raw, source=str(path), lines=lines, copy=False)  # raw is ours: no need to copy it


def read_csv_as_text(path: Path, *, kind: str, rows: str) -> pd.DataFrame:
    """Every cell of a CSV file as text (blank lines kept, so row ``i`` is line ``i + 2``), header stripped.

    ``kind`` names the file in the messages ("a flat-format CSV file"), ``rows`` what each line holds.

    Raises
    ------
    VertebroError
        One sentence when the file does not exist, is a folder, cannot be opened, is empty, is not a
        readable CSV file or is separated by something other than commas.
    """
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False, encoding="utf-8-sig"
        )
    except FileNotFoundError:
        raise VertebroError(f"{path} does not exist; give the path of {kind}.") from None
    except IsADirectoryError:
        raise VertebroError(f"{path} is a folder, not a file; give the path of {kind}.") from None
    except OSError as exc:  # permissions, a device, a broken network share ...
        reason = (exc.strerror or type(exc).__name__).lower()
        raise VertebroError(f"{path} cannot be opened ({reason}); check the path and its permissions.") from None
    except pd.errors.EmptyDataError:
        raise VertebroError(f"{path} is empty: it needs a header line and {rows}.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise VertebroError(f"{path} is not a readable CSV file ({exc}); export it again as UTF-8 CSV.") from None
    raw.columns = [str(column).strip() for column in raw.columns]
    shown = wrong_separator(list(raw.columns))
    if shown is not None:
        raise VertebroError(f"{path}: the columns are separated by {shown}, not commas; save the file as CSV with commas.")
    return raw


def _blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty text (blank lines); only rows with an empty first cell are checked."""
    blank = np.zeros(len(raw), dtype=bool)
    if not len(raw.columns):
        return blank
    candidates = np.flatnonzero(raw.iloc[:, 0].to_numpy(dtype=object) == "")
    if candidates.size:
        blank[candidates] = (raw.iloc[candidates] == "").all(axis=1).to_numpy()
    return blank


def validate_flat(df: pd.DataFrame, *, source: str = "input", lines: Sequence[int] | None = None) -> pd.DataFrame:
    """Check flat-format rows against the domain rules and return a clean, typed copy.

    Parameters
    ----------
    df : pandas.DataFrame
        Long format, one row per pain assessment (:mod:`vertebro.domain.flat`). Values may be strings
        (as read from a CSV file) or already typed (as the registry selector returns them).
    source : str
        Named in every problem: the file path, or ``"registry"``.
    lines : sequence of int, optional
        The CSV line of each row; by default row ``i`` (0-based) is line ``i + 2``.

    Returns
    -------
    pandas.DataFrame
        Same rows and columns, with ``patient_id`` (str), ``sex`` (``F``/``M``), ``age`` (int64),
        ``etiology`` (a code of :data:`vertebro.domain.vocabulary.ETIOLOGY`), ``timepoint`` (a code of
        :data:`vertebro.domain.timepoints.TIMEPOINT_CODES`), ``vps`` (float64); when present, ``days``
        (int64) and ``recurrent_pain`` (float64: 1.0, 0.0, or NaN where empty, as on baseline rows).

    Raises
    ------
    FlatDataError
        Carrying every problem found: a missing required column; a value a domain rule refuses
        (unknown sex, etiology or timepoint; a score outside 0–10; an age outside 0–120; days that are
        not a whole number, out of range or outside the stated timepoint's window; a recurrent_pain
        other than 0/1/empty); the same scheduled timepoint twice for a patient; or sex, age,
        etiology or site differing across one patient's rows.
    """
    return _validated(df, source=source, lines=lines, copy=True)


def _validated(df: pd.DataFrame, *, source: str, lines: Sequence[int] | None, copy: bool) -> pd.DataFrame:
    """:func:`validate_flat`; with ``copy=False`` the columns it does not retype are ``df``'s own."""
    line_of = np.asarray(lines, dtype=np.int64) if lines is not None else np.arange(len(df), dtype=np.int64) + 2
    if len(line_of) != len(df):
        raise ValueError(f"lines has {len(line_of)} entries for {len(df)} rows")

    missing = [column for column in ANALYSIS_REQUIRED_COLUMNS if column not in df.columns]
    if missing:
        raise FlatDataError(
            [
                FlatProblem(
                    source,
                    1,
                    column,
                    None,
                    "this required column is missing; the analysis needs "
                    + ", ".join(ANALYSIS_REQUIRED_COLUMNS),
                )
                for column in missing
            ]
        )

    problems: list[FlatProblem] = []
    # Every change below replaces a whole column: even the shallow copy (copy=False) leaves ``df`` untouched.
    clean = df.copy(deep=copy)

    def report(mask: np.ndarray, column: str, values: pd.Series, error_for: Callable[[object], DomainError]) -> None:
        for position in np.flatnonzero(mask):
            error = error_for(values.iloc[position])
            problems.append(FlatProblem(source, int(line_of[position]), column, error.value, error.rule))

    codes, texts = _distinct_text(df["patient_id"])
    no_id = pd.isna(texts)
    texts[no_id] = ""
    patient_id = pd.Series(texts[codes], index=df.index, dtype=object)
    # One integer per patient (-1: no patient_id), for the per-patient checks at the end.
    patient_code = np.where(no_id, -1, pd.factorize(texts)[0])[codes]
    report(
        patient_code < 0,
        "patient_id",
        df["patient_id"],
        lambda v: DomainError("patient_id", v, "every row needs a patient_id"),
    )
    clean["patient_id"] = patient_id

    clean["sex"], bad = _coded(df["sex"], SEX.codes, lambda v: SEX.parse(v, field="sex"))
    report(bad, "sex", df["sex"], _error_of(lambda v: SEX.parse(v, field="sex")))
    clean["etiology"], bad = _coded(df["etiology"], ETIOLOGY.codes, lambda v: ETIOLOGY.parse(v, field="etiology"))
    report(bad, "etiology", df["etiology"], _error_of(lambda v: ETIOLOGY.parse(v, field="etiology")))
    clean["timepoint"], bad = _coded(df["timepoint"], TIMEPOINT_CODES, _parse_timepoint)
    report(bad, "timepoint", df["timepoint"], _error_of(_parse_timepoint))

    # A row that only says why a score is missing (issue 12's flow) has a reason and no score.
    unscored = np.zeros(len(df), dtype=bool)
    if MISSING_REASON_COLUMN in df.columns:
        parse_reason = lambda v: MISSING_REASON.parse(v, field="missing_reason")  # noqa: E731
        clean[MISSING_REASON_COLUMN], bad = _coded(df[MISSING_REASON_COLUMN], MISSING_REASON.codes, parse_reason)
        given = ~_blank(df[MISSING_REASON_COLUMN])
        report(bad & given, "missing_reason", df[MISSING_REASON_COLUMN], _error_of(parse_reason))
        blank_score = _blank(df["vps"])
        unscored = given & blank_score
        report(
            given & ~blank_score,
            "missing_reason",
            df[MISSING_REASON_COLUMN],
            lambda v: DomainError("missing_reason", v, RULE_REASON_WITH_SCORE),
        )
    vps = _numeric(df["vps"])
    good = (vps.notna() & (vps >= SCORE_MIN) & (vps <= SCORE_MAX)) | pd.Series(unscored, index=df.index)
    clean["vps"], bad = _with_fallback(df["vps"], vps, good, parse_score)
    clean["vps"] = clean["vps"].where(~unscored)
    report(bad, "vps", df["vps"], _error_of(parse_score))

    age = _numeric(df["age"])
    good = age.notna() & (age % 1 == 0) & (age >= AGE_MIN) & (age <= AGE_MAX)
    clean["age"], bad = _with_fallback(df["age"], age, good, parse_age)
    report(bad, "age", df["age"], _error_of(parse_age))

    for column in ("procedure_date", "assessed_on", "birth_date"):  # optional; a date given must be one
        if column in df.columns:
            parse = lambda v, column=column: v if isinstance(v, date) else parse_iso_date(v, field=column)  # noqa: E731
            report(_unreadable(df[column], parse), column, df[column], _error_of(parse))

    if "days" in df.columns:
        days = _numeric(df["days"])
        good = days.notna() & (days % 1 == 0) & (days >= ASSESSMENT_DAYS_MIN) & (days <= ASSESSMENT_DAYS_MAX)
        undated = unscored & _blank(df["days"])
        report((~good).to_numpy() & ~undated, "days", df["days"], _error_of(_parse_days))
        clean["days"] = days.where(good, 0).astype(np.int64)
        in_window = _days_match_timepoints(clean["timepoint"], clean["days"])
        checkable = good.to_numpy() & clean["timepoint"].notna().to_numpy()
        timepoints, day_values = clean["timepoint"], clean["days"]
        for position in np.flatnonzero(checkable & ~in_window):
            try:
                check_timepoint_matches_days(timepoints.iloc[position], int(day_values.iloc[position]))
            except DomainError as error:
                problems.append(FlatProblem(source, int(line_of[position]), "days", day_values.iloc[position], error.rule))

    if "recurrent_pain" in df.columns:
        flag = _numeric(df["recurrent_pain"])
        codes, texts = _distinct_text(df["recurrent_pain"])
        canonical = flag.isin([0.0, 1.0]) | pd.Series(pd.isna(texts)[codes], index=df.index)
        flag, bad = _with_fallback(
            df["recurrent_pain"], flag, canonical, lambda v: parse_flag(v, field="recurrent_pain")
        )
        report(bad, "recurrent_pain", df["recurrent_pain"], _error_of(lambda v: parse_flag(v, field="recurrent_pain")))
        clean["recurrent_pain"] = flag.astype(np.float64)

    problems.extend(_duplicate_timepoints(clean, patient_code, line_of, source))
    problems.extend(_inconsistent_patients(clean, patient_code, line_of, source))
    if problems:
        raise FlatDataError(problems)
    clean["vps"] = clean["vps"].astype(np.float64)
    clean["age"] = clean["age"].astype(np.int64)
    return clean


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, texts)``: row ``i`` reads ``texts[codes[i]]``, its stripped text, or None when missing or blank.

    Works on the distinct values only (a million rows hold a few thousand patients and two sexes);
    a missing value has code -1, which reads the last entry of ``texts`` (None).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    stripped = [None if _missing(v) else str(v).strip() for v in uniques]
    return codes, np.array([*(v or None for v in stripped), None], dtype=object)


def _blank(values: pd.Series) -> np.ndarray:
    """Rows that are missing or blank text."""
    codes, texts = _distinct_text(values)
    return pd.isna(texts)[codes]


def _unreadable(values: pd.Series, parse: Callable[[object], object]) -> np.ndarray:
    """Rows whose non-blank value ``parse`` refuses, tried once per distinct value."""
    codes, texts = _distinct_text(values)
    refused = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts[:-1]):
        if text is not None:
            try:
                parse(text)
            except DomainError:
                refused[i] = True
    return refused[codes]


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _numeric(values: pd.Series) -> pd.Series:
    """Numbers as float64; anything that is not a plain number (text, empty, booleans) becomes NaN."""
    if values.dtype == bool:
        return pd.Series(np.nan, index=values.index)
    if values.dtype == object:
        # Text from a CSV file: convert each distinct value once (a score column holds a few dozen).
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        numbers = pd.to_numeric(
            pd.Series([np.nan if isinstance(v, bool) else v for v in uniques], dtype=object), errors="coerce"
        ).to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(np.append(numbers, np.nan)[codes], index=values.index)
    return pd.to_numeric(values, errors="coerce").astype(np.float64)


def _coded(
    values: pd.Series, codes: Sequence[str], parse: Callable[[object], str]
) -> tuple[pd.Series, np.ndarray]:
    """Map values to vocabulary codes: canonical codes directly, the rest through the domain parser.

    Each distinct value is looked at once; the rows then take their value's answer.
    """
    row_codes, texts = _distinct_text(values)
    mapped = np.empty(len(texts), dtype=object)
    refused = np.zeros(len(texts), dtype=bool)
    for index, text in enumerate(texts):
        if text in codes:
            mapped[index] = text
            continue
        try:
            mapped[index] = parse(text)
        except DomainError:
            mapped[index], refused[index] = None, True
    return pd.Series(mapped[row_codes], index=values.index, dtype=object), refused[row_codes]


def _with_fallback(
    raw: pd.Series, parsed: pd.Series, good: pd.Series, parse: Callable[[object], object]
) -> tuple[pd.Series, np.ndarray]:
    """Keep vectorised values where ``good``; give the others to the domain parser, flag its refusals.

    The parser sees each distinct raw value once, however many rows carry it.
    """
    result = parsed.where(good)
    bad = np.zeros(len(raw), dtype=bool)
    positions = np.flatnonzero(~good.to_numpy())
    if not positions.size:
        return result, bad
    codes, uniques = pd.factorize(raw.iloc[positions], use_na_sentinel=True)
    values = list(uniques)
    if (codes < 0).any():  # a missing value (None, NaN) has code -1: it reads the last entry
        values.append(raw.iloc[positions[codes < 0][0]])
    answers = np.full(len(values), np.nan)
    refused = np.zeros(len(values), dtype=bool)
    for index, value in enumerate(values):
        try:
            answers[index] = float(parse(value))  # type: ignore[arg-type]
        except DomainError:
            refused[index] = True
    result.iloc[positions] = answers[codes]
    bad[positions] = refused[codes]
    return result, bad


def _error_of(parse: Callable[[object], object]) -> Callable[[object], DomainError]:
    def error_for(value: object) -> DomainError:
        try:
            parse(value)
        except DomainError as error:
            return error
        raise AssertionError(f"{value!r} was flagged but the domain parser accepts it")  # pragma: no cover

    return error_for


def _parse_timepoint(value: object) -> str:
    text = "" if _missing(value) else str(value).strip().casefold()
    if text in TIMEPOINT_CODES:
        return text
    raise DomainError("timepoint", value, f"timepoint must be one of: {', '.join(TIMEPOINT_CODES)}")


def _parse_days(value: object) -> int:
    rule = "days from the procedure must be a whole number"
    if _missing(value) or isinstance(value, bool):
        raise DomainError("days", value, rule)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DomainError("days", value, rule) from None
    if not number.is_integer():
        raise DomainError("days", value, rule)
    check_assessment_days(int(number), field="days")
    return int(number)


def _days_match_timepoints(timepoints: pd.Series, days: pd.Series) -> np.ndarray:
    """True where ``days`` lies in the window of the row's timepoint (unscheduled rows always match)."""
    first = timepoints.map({code: tp.first_day for code, tp in BY_CODE.items()}).astype(np.float64).fillna(-np.inf)
    last = timepoints.map({code: tp.last_day for code, tp in BY_CODE.items()}).astype(np.float64).fillna(np.inf)
    return ((days >= first) & (days <= last)).to_numpy()


def _duplicate_timepoints(
    clean: pd.DataFrame, patient_code: np.ndarray, line_of: np.ndarray, source: str
) -> list[FlatProblem]:
    timepoint_code = clean["timepoint"].map({code: index for index, code in enumerate(TIMEPOINT_CODES)})
    scheduled = (patient_code >= 0) & timepoint_code.notna().to_numpy() & (clean["timepoint"] != UNSCHEDULED).to_numpy()
    rows = np.flatnonzero(scheduled)
    keys = pd.Series(patient_code[rows] * len(TIMEPOINT_CODES) + timepoint_code.to_numpy()[rows].astype(np.int64))
    repeated = keys.duplicated(keep="first").to_numpy()
    if not repeated.any():
        return []
    first_line = dict(zip(keys[~repeated].to_numpy(), line_of[rows[~repeated]]))
    return [
        FlatProblem(
            source,
            int(line_of[row]),
            "timepoint",
            clean["timepoint"].iloc[row],
            f"patient {clean['patient_id'].iloc[row]} already has a {clean['timepoint'].iloc[row]} assessment on "
            f"line {int(first_line[key])}; a patient has at most one assessment per scheduled timepoint",
        )
        for row, key in zip(rows[repeated], keys[repeated].to_numpy())
    ]


def _inconsistent_patients(
    clean: pd.DataFrame, patient_code: np.ndarray, line_of: np.ndarray, source: str
) -> list[FlatProblem]:
    """One problem per patient and fixed column with two different values, on the first row that differs."""
    problems = []
    for column in _PATIENT_FIXED_COLUMNS:
        if column not in clean.columns:
            continue
        value_code = _value_codes(clean[column])  # -1: missing, which is not a second value
        known = (patient_code >= 0) & (value_code >= 0)
        # Each patient's first known value: assigning in reverse row order lets the first row win.
        first = np.full(int(patient_code.max(initial=-1)) + 1, -1)
        first[patient_code[known][::-1]] = value_code[known][::-1]
        differs = known & (value_code != first[np.maximum(patient_code, 0)])
        if not differs.any():
            continue
        rows = np.flatnonzero(known & np.isin(patient_code, patient_code[differs]))
        rows = rows[np.argsort(patient_code[rows], kind="stable")]  # each patient's rows together, in file order
        starts = np.flatnonzero(np.diff(patient_code[rows], prepend=-2))
        values = clean[column]
        for patient_rows in np.split(rows, starts[1:]):
            patient_values = [_as_text(values.iloc[r]) for r in patient_rows]
            try:
                check_consistent(column, patient_values, patient_id=clean["patient_id"].iloc[patient_rows[0]])
            except DomainError as error:
                first_row = patient_rows[0]
                culprit = next(r for r, v in zip(patient_rows, patient_values) if v != patient_values[0])
                problems.append(
                    FlatProblem(
                        source,
                        int(line_of[culprit]),
                        column,
                        error.value,
                        f"{error.rule} (line {int(line_of[first_row])} says {patient_values[0]}, "
                        f"line {int(line_of[culprit])} says {_as_text(values.iloc[culprit])})",
                    )
                )
    return problems


def _value_codes(values: pd.Series) -> np.ndarray:
    """An integer per distinct value, -1 for a missing one (None, NaN, blank text), as ``check_consistent`` sees them."""
    if values.dtype != object:
        return pd.factorize(values, use_na_sentinel=True)[0]
    codes, texts = _distinct_text(values)
    missing = pd.isna(texts)
    return np.where(missing, -1, pd.factorize(np.where(missing, "", texts))[0])[codes]


def _as_text(value: object) -> str | None:
    """How a fixed patient value reads in a message; whole floats lose their ``.0`` (age 72, not 72.0)."""
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
