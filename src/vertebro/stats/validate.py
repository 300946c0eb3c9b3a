"""Refuse malformed flat-format input before any statistic is computed.

Every problem names the source, the line (as in a CSV file: the header is line 1, the first data row
line 2), the column, the value and the rule broken. Every rule is :mod:`vertebro.domain.flat_rules`'s,
the same the import applies (``interop.flat_validate``): one cell rule per column, applied once per
distinct value, and the row rules (one score per patient and timepoint, a patient's fixed fields
agreeing), so a file is refused for exactly the reasons the registry would refuse the same values. What
is the analysis's own is what it needs (:data:`~vertebro.domain.flat.ANALYSIS_REQUIRED_COLUMNS`: a
de-identified export is enough), the typed frame it returns, and how a refusal reads: one problem per
line to correct, raised as :class:`FlatDataError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.errors import DomainError
from ..domain.flat import ANALYSIS_REQUIRED_COLUMNS, MISSING_REASON_COLUMN, wrong_separator
from ..domain.flat_rules import (
    FIXED_COLUMNS,
    RULE_REASON_WITH_SCORE,
    TIMEPOINT,
    cell_rules,
    conflicting_patients,
    parse_distinct,
    repeated_assessments,
    whole_days,
)
from ..domain.rules import check_assessment_days, check_consistent
from ..domain.timepoints import BY_CODE, check_timepoint_matches_days
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
    cells = {**cell_rules(), "days": _days_in_range}  # the analysis checks the range of days with the cell

    def report(mask: np.ndarray, column: str, rule: np.ndarray | str, value: np.ndarray | None = None) -> None:
        """One problem per row of ``mask``: the value as received (or ``value``), the rule broken (a text,
        or an array read at the row)."""
        positions = np.flatnonzero(mask)
        if not positions.size:
            return
        shown = df[column].to_numpy(dtype=object) if value is None else value
        for position in positions:
            text = rule if isinstance(rule, str) else rule[position]
            problems.append(FlatProblem(source, int(line_of[position]), column, shown[position], text))

    distinct: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # column: (row codes, parsed value per code)

    def parsed(column: str, *, blank_ok: bool | np.ndarray = False) -> np.ndarray:
        """The column's values by its cell rule (one call per distinct value), None where blank or broken;
        a broken cell is reported, and so is a blank one unless ``blank_ok`` (for those rows)."""
        codes, texts = _distinct_text(df[column])
        values, broken = parse_distinct(list(texts[:-1]), cells[column])
        empty = pd.isna(texts)  # missing or blank text, code -1 included
        broken[empty] = parse_distinct([""], cells[column])[1][0]  # what the rule says of an empty cell
        bad = pd.notna(broken)[codes]
        if blank_ok is not False:
            bad &= ~(empty[codes] & blank_ok)
        report(bad, column, broken[codes] if bad.any() else "")
        distinct[column] = (codes, values)
        return values[codes]

    codes, texts = _distinct_text(df["patient_id"])
    no_id = pd.isna(texts)
    texts[no_id] = ""
    patient_id = pd.Series(texts[codes], index=df.index, dtype=object)
    # One integer per patient (-1: no patient_id), for the per-patient checks at the end.
    patient_code = np.where(no_id, -1, pd.factorize(texts)[0])[codes]
    report(patient_code < 0, "patient_id", "every row needs a patient_id")
    clean["patient_id"] = patient_id

    for column in ("sex", "etiology", "timepoint"):
        clean[column] = pd.Series(parsed(column), index=df.index, dtype=object)

    # A row that only says why a score is missing (issue 12's flow) has a reason and no score.
    unscored = np.zeros(len(df), dtype=bool)
    if MISSING_REASON_COLUMN in df.columns:
        reason_given = ~_blank(df[MISSING_REASON_COLUMN])
        clean[MISSING_REASON_COLUMN] = pd.Series(parsed(MISSING_REASON_COLUMN, blank_ok=True), index=df.index, dtype=object)
        blank_score = _blank(df["vps"])
        unscored = reason_given & blank_score
        report(reason_given & ~blank_score, MISSING_REASON_COLUMN, RULE_REASON_WITH_SCORE)
    clean["vps"] = pd.Series(parsed("vps", blank_ok=unscored), index=df.index, dtype=np.float64)
    age = pd.Series(parsed("age"), index=df.index, dtype=np.float64)
    clean["age"] = age

    # Optional columns: a value given must be one, by the same cell rule as in the import.
    for column in ("procedure_date", "assessed_on", "birth_date", "levels", "cement_ml", "venue", "instrument", "pathologic_cause", "pathologic_basis"):
        if column in df.columns:
            parsed(column, blank_ok=True)

    if "days" in df.columns:
        days = pd.Series(parsed("days", blank_ok=unscored), index=df.index, dtype=np.float64)
        good = days.notna()
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
        flag = parsed("recurrent_pain", blank_ok=True)
        clean["recurrent_pain"] = pd.Series(flag, index=df.index, dtype=object).astype(np.float64)

    problems.extend(_duplicate_timepoints(clean, patient_code, line_of, source))
    problems.extend(_inconsistent_patients(_fixed_values(df, distinct), clean["patient_id"], patient_code, line_of, source))
    if problems:
        raise FlatDataError(problems)
    clean["age"] = clean["age"].astype(np.int64)
    return clean


def _days_in_range(value: str) -> int:
    """Days from the procedure: the flat format's cell rule, then the registry's range."""
    days = whole_days(value)
    check_assessment_days(days, field="days")
    return days


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


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _days_match_timepoints(timepoints: pd.Series, days: pd.Series) -> np.ndarray:
    """True where ``days`` lies in the window of the row's timepoint (unscheduled rows always match)."""
    first = timepoints.map({code: tp.first_day for code, tp in BY_CODE.items()}).astype(np.float64).fillna(-np.inf)
    last = timepoints.map({code: tp.last_day for code, tp in BY_CODE.items()}).astype(np.float64).fillna(np.inf)
    return ((days >= first) & (days <= last)).to_numpy()


def _duplicate_timepoints(
    clean: pd.DataFrame, patient_code: np.ndarray, line_of: np.ndarray, source: str
) -> list[FlatProblem]:
    """The second and later rows of a repeated assessment (:func:`repeated_assessments`), each naming the first."""
    timepoint_code = clean["timepoint"].map({code: index for index, code in enumerate(TIMEPOINT.codes)})
    timepoint_code = timepoint_code.fillna(-1).to_numpy(dtype=np.int64)
    # Without days, an unscheduled row cannot be placed in time: it is never a repeat.
    days = clean["days"].to_numpy() if "days" in clean.columns else np.arange(len(clean)) + (1 << 40)
    key = repeated_assessments(patient_code, timepoint_code, days)
    rows = np.flatnonzero(key >= 0)
    keys = pd.Series(key[rows])
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


def _fixed_values(df: pd.DataFrame, distinct: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixed fields of :data:`FIXED_COLUMNS` present, as compared across a patient's rows: per column
    ``(row codes, text per code)``, the text of the parsed value where a cell rule reads the column (a
    date, a code, levels in craniocaudal order: two spellings of one value agree), None where blank or
    broken. Works on the distinct values: the rows only carry their code."""
    values = {}
    for column in FIXED_COLUMNS:
        if column in distinct:
            codes, parsed = distinct[column]
            joined = (";".join(v) if isinstance(v, tuple) else _as_text(v) for v in parsed)
            values[column] = (codes, np.array(list(joined), dtype=object))
        elif column in df.columns:
            values[column] = _distinct_text(df[column])
    return values


def _inconsistent_patients(
    fixed: dict[str, tuple[np.ndarray, np.ndarray]], patient_id: pd.Series, patient_code: np.ndarray,
    line_of: np.ndarray, source: str,
) -> list[FlatProblem]:
    """One problem per patient and fixed column with two different values, on the first row that differs."""
    problems = []
    for column, (codes, texts) in fixed.items():
        missing = pd.isna(texts)
        value_code = np.where(missing, -1, pd.factorize(np.where(missing, "", texts))[0])[codes]  # -1: no value
        known = (patient_code >= 0) & (value_code >= 0)
        conflicting = np.flatnonzero(conflicting_patients(patient_code, value_code))
        if not len(conflicting):
            continue
        rows = np.flatnonzero(known & np.isin(patient_code, conflicting))
        rows = rows[np.argsort(patient_code[rows], kind="stable")]  # each patient's rows together, in file order
        starts = np.flatnonzero(np.diff(patient_code[rows], prepend=-2))
        for patient_rows in np.split(rows, starts[1:]):
            patient_values = [texts[codes[r]] for r in patient_rows]
            try:
                check_consistent(column, patient_values, patient_id=patient_id.iloc[patient_rows[0]])
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
                        f"line {int(line_of[culprit])} says {texts[codes[culprit]]})",
                    )
                )
    return problems


def _as_text(value: object) -> str | None:
    """How a fixed patient value reads in a message; whole floats lose their ``.0`` (age 72, not 72.0)."""
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
