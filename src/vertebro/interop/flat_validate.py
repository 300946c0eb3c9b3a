"""Validation of a flat-format table, row by row and across rows, vectorised.

Every rule is the domain layer's own (``vertebro.domain.flat_rules``, which the analysis's validator
uses too): a cell rule is applied once per distinct value of a column (vocabularies, dates and scores repeat a lot, so a million rows cost a few thousand calls)
and its :class:`DomainError` becomes the rule of every row holding that value. Rules between columns
and between rows (timepoint windows, baseline before the procedure, one score per patient and
timepoint, a patient's fixed fields agreeing) run on whole columns with pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ..domain import rules
from ..domain.errors import DomainError
from ..domain.flat import FLAT_COLUMNS, FLAT_OPTIONAL_COLUMNS, MISSING_REASON_COLUMN, SOURCE_COLUMN, wrong_separator
from ..domain.flat_rules import FIXED_COLUMNS, TIMEPOINT, cell_rules, conflicting_patients, parse_distinct, repeated_assessments
from ..domain.timepoints import UNSCHEDULED, check_timepoint_matches_days, derive_timepoint
from ..domain.vocabulary import ASSESSMENT_SOURCE, ETIOLOGY, INSTRUMENT, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE, SEX, VENUE, Vocabulary
from .problems import combine, no_problems, problems_frame
from .sanitize import restore_text

#: Columns a flat file may carry beyond the flat format's own.
EXTRA_COLUMNS = ("birth_date", "mrn", "name", "pathologic_cause", "pathologic_basis", "instrument", MISSING_REASON_COLUMN, SOURCE_COLUMN)
#: A row that only says why a score is missing: the analysis counts it, the registry has no place for it.
RULE_REASON_NOT_IMPORTED = (
    "a row with a missing-data reason is read by vertebro analyze (the flow), not imported: "
    "the import takes pain scores only"
)
KNOWN_COLUMNS = tuple(dict.fromkeys(FLAT_COLUMNS + FLAT_OPTIONAL_COLUMNS + EXTRA_COLUMNS))
TEXT_LIMITS = {"patient_id": 64, "site": 32, "mrn": 64, "name": 200}


@dataclass(frozen=True)
class FlatValidation:
    """The outcome of validating a flat table.

    Attributes
    ----------
    frame : pandas.DataFrame
        The valid rows, normalised for :func:`vertebro.registry.services.flat_import.flat_frame_import`
        (codes, ``datetime64`` dates, numbers, ``None`` for blank), with the file ``line`` of each row.
    problems : pandas.DataFrame
        ``line, column, value, rule`` of every broken rule (a row may break several).
    rows_read : int
        Rows in the table.
    """

    frame: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int

    @property
    def invalid_lines(self) -> list[int]:
        return sorted(int(line) for line in self.problems["line"].dropna().unique())

    @property
    def file_problems(self) -> pd.DataFrame:
        """Problems no row can be skipped for (header, missing columns): they stop the import."""
        return self.problems[self.problems["line"].isna() | (self.problems["column"] == "(header)")]


def coded_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column of text cells as (codes, distinct stripped values): ``codes[i]`` indexes the value of
    row ``i``, -1 for blank. String work then runs once per distinct value, not once per row. A
    spreadsheet-safety apostrophe that an export put before ``= + - @`` is taken off (``sanitize``)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), pd.Index(values.cat.categories)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        uniques = pd.Index(uniques)
    stripped = pd.Series(uniques.astype(str), dtype="object").str.strip()
    if len(stripped) and stripped.str.startswith("'").any():
        stripped = restore_text(stripped)
    new_codes, new_uniques = pd.factorize(stripped.where(stripped != "", None), use_na_sentinel=True)
    mapping = np.append(new_codes, -1)  # code -1 (missing) maps to -1
    return mapping[codes], np.asarray(new_uniques, dtype="object")


@dataclass(frozen=True)
class _Coded:
    """A text column as ``values[codes]``: ``codes[i]`` indexes the value of row ``i``, -1 for blank."""

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, per_code: np.ndarray) -> _Coded:
        """From codes into ``per_code`` (values that may repeat, None for "no value")."""
        recoded, distinct = pd.factorize(pd.Series(per_code, dtype="object"), use_na_sentinel=True)
        return cls(np.append(recoded, -1)[codes], np.asarray(distinct, dtype="object"))

    def present(self) -> np.ndarray:
        return self.codes >= 0

    def rows(self) -> np.ndarray:
        """Per-row values, None where blank."""
        return np.append(self.values, None)[self.codes]

    def categorical(self) -> pd.Categorical:
        return pd.Categorical.from_codes(self.codes, categories=pd.Index(self.values, dtype="object"), validate=False)


def _vocabulary_codes(vocabulary: Vocabulary) -> np.ndarray:
    return np.asarray(vocabulary.codes, dtype="object")


class _Checker:
    """Collects problems while columns are parsed; ``lines`` numbers the rows."""

    def __init__(self, raw: pd.DataFrame, lines: np.ndarray, today: date):
        self.raw = raw
        self.lines = np.asarray(lines)
        self.rules = cell_rules(today)
        self.found: list[pd.DataFrame] = []
        self._coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def coded(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in self._coded:
            if column in self.raw:
                self._coded[column] = coded_text(self.raw[column])
            else:
                self._coded[column] = (np.full(len(self.raw), -1, dtype="int64"), np.array([], dtype="object"))
        return self._coded[column]

    def text(self, column: str) -> _Coded:
        """Stripped text, blank for blank or absent."""
        return _Coded(*self.coded(column))

    def blank(self, column: str) -> np.ndarray:
        return self.coded(column)[0] < 0

    def fail(self, mask: np.ndarray, column: str, values, rule) -> None:  # noqa: ANN001
        """Record ``rule`` for the rows of ``mask``. ``values`` and ``rule`` are a string, a per-row
        array, or a function giving one (called only when some row fails: building a million
        strings for a rule nobody broke is most of the cost of a clean file)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return

        def pick(v):  # noqa: ANN001, ANN202
            v = v() if callable(v) else v
            if isinstance(v, (pd.Series, np.ndarray, pd.api.extensions.ExtensionArray)):
                return pd.Series(np.asarray(v, dtype="object")[mask]).astype(str).to_numpy()
            return v

        self.found.append(problems_frame(self.lines[mask], column, pick(values), pick(rule)))

    def _parse_distinct(self, column: str, parse: Callable[[str], object] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The column's cell rule (or ``parse``) once per distinct non-blank value; rows whose value fails
        get its rule. Returns the row codes and the parsed value per code (with None appended for code
        -1 and in place of every value that failed)."""
        codes, uniques = self.coded(column)
        parsed, rules_ = parse_distinct(uniques, parse or self.rules[column])
        bad_unique = np.append(pd.notna(rules_[:-1]), False)
        bad = bad_unique[codes]
        self.fail(bad, column, lambda: self.raw_text(column), lambda: rules_[codes])
        parsed[bad_unique] = None
        return codes, parsed

    def parse(self, column: str, *, dtype: str) -> np.ndarray:
        """Parsed values per row: ``float64`` with NaN or ``datetime64[ns]`` with NaT for blank and
        broken cells."""
        codes, parsed = self._parse_distinct(column)
        if dtype == "datetime64[ns]":
            typed = pd.to_datetime(pd.Series(parsed), errors="coerce").to_numpy(dtype="datetime64[ns]")
        else:
            typed = pd.to_numeric(pd.Series(parsed), errors="coerce").to_numpy(dtype="float64")
        return typed[codes]

    def vocabulary(self, column: str, vocabulary: Vocabulary) -> _Coded:
        """Codes into ``vocabulary.codes`` (a code or a label is accepted); -1 for blank and broken."""
        codes, parsed = self._parse_distinct(column)
        index = {code: i for i, code in enumerate(vocabulary.codes)}
        position = np.array([index.get(p, -1) if p is not None else -1 for p in parsed], dtype="int64")
        return _Coded(position[codes], _vocabulary_codes(vocabulary))

    def raw_text(self, column: str) -> np.ndarray:
        return self.raw[column].to_numpy() if column in self.raw else np.full(len(self.raw), "", dtype="object")

    def too_long(self, column: str) -> None:
        if column not in self.raw:
            return
        limit = TEXT_LIMITS[column]
        codes, uniques = self.coded(column)
        long_unique = np.append(np.array([len(str(u)) > limit for u in uniques], dtype=bool), False)
        self.fail(long_unique[codes], column, lambda: self.text(column).rows(), f"{column} is at most {limit} characters long")


def _iso(dates: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(dates, dtype="datetime64[ns]"), unit="D")


def _whole(numbers: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers held as floats (NaN for missing) as a nullable integer array."""
    missing = np.isnan(numbers)
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)


def validate_flat_frame(
    raw: pd.DataFrame, *, lines: np.ndarray | None = None, site: str | None = None, today: date | None = None
) -> FlatValidation:
    """Check every row of a flat table (cells as text) against the domain rules.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (``vertebro.interop.tabular``), every cell text.
    lines : array of int, optional
        File line of each row (default: row number + 2, the header being line 1).
    site : str, optional
        Import for this site only: fills a missing or blank ``site`` and refuses rows of another site.
    today : date, optional
        The latest plausible date (default: today).

    Returns
    -------
    FlatValidation
        Its frame holds text columns as Categoricals (codes of the vocabularies, stripped text),
        dates as ``datetime64[ns]``, ``age`` and ``days`` as nullable integers, ``recurrent_pain``
        as nullable booleans.
    """
    today = today or date.today()
    raw = raw.reset_index(drop=True)
    lines = np.arange(2, len(raw) + 2) if lines is None else np.asarray(lines)
    c = _Checker(raw, lines, today)
    header = _header_problems(raw.columns, site=site)
    if len(header):
        return FlatValidation(raw.iloc[0:0], combine([header]), len(raw))

    out: dict[str, object] = {"line": lines}
    out["patient_id"] = c.text("patient_id")
    c.fail(c.blank("patient_id"), "patient_id", "", "every row needs a patient_id")
    c.too_long("patient_id")
    out["site"] = _site(c, site)
    for column, vocabulary in (("sex", SEX), ("etiology", ETIOLOGY)):
        out[column] = c.vocabulary(column, vocabulary)
        c.fail(c.blank(column), column, "", f"every row needs its {column}")
    for column, vocabulary in (("venue", VENUE), ("instrument", INSTRUMENT), ("source", ASSESSMENT_SOURCE), ("pathologic_cause", PATHOLOGIC_CAUSE), ("pathologic_basis", PATHOLOGIC_BASIS)):
        out[column] = c.vocabulary(column, vocabulary)
    for column in ("mrn", "name"):
        out[column] = c.text(column)
        c.too_long(column)

    procedure = out["procedure_date"] = c.parse("procedure_date", dtype="datetime64[ns]")
    c.fail(c.blank("procedure_date"), "procedure_date", "", "every row needs the procedure date")
    out["birth_date"] = c.parse("birth_date", dtype="datetime64[ns]")
    out["age"] = c.parse("age", dtype="float64")
    _age_checks(c, out)

    assessed_on = c.parse("assessed_on", dtype="datetime64[ns]")
    days_given = c.parse("days", dtype="float64")
    from_dates = (assessed_on - procedure) / np.timedelta64(1, "D")
    disagree = ~np.isnan(from_dates) & ~np.isnan(days_given) & (from_dates != days_given)
    c.fail(disagree, "days", lambda: c.raw_text("days"), "days must equal assessed_on − procedure_date")
    days = np.where(np.isnan(from_dates), days_given, from_dates)
    from_days = np.isnat(assessed_on) & ~np.isnan(days) & ~np.isnat(procedure)
    if from_days.any():
        assessed_on = assessed_on.copy()
        assessed_on[from_days] = procedure[from_days] + days[from_days].astype("int64").astype("timedelta64[D]")
    out["assessed_on"] = assessed_on
    c.fail(c.blank("assessed_on") & c.blank("days"), "assessed_on", "", "every row needs assessed_on (or days from the procedure)")
    out["days"] = days
    future = assessed_on > np.datetime64(today, "ns")
    c.fail(future, "assessed_on", lambda: _iso(assessed_on), f"a date must lie between {rules.EARLIEST_DATE} and today ({today})")
    out["vps"] = c.parse("vps", dtype="float64")
    reason = ~c.blank(MISSING_REASON_COLUMN)
    c.fail(reason, MISSING_REASON_COLUMN, lambda: c.raw_text(MISSING_REASON_COLUMN), RULE_REASON_NOT_IMPORTED)
    c.fail(c.blank("vps") & ~reason, "vps", "", "pain score must be a number from 0 to 10")

    _timepoints(c, out)
    _follow_up(c, out)
    _fracture(c, out)
    patients = out["patient_id"].codes
    _one_score_per_timepoint(c, out, patients)
    _fixed_fields_agree(c, out, patients)

    problems = combine(c.found)
    frame = _frame(out)
    if len(problems):
        valid = ~np.isin(lines, problems["line"].dropna().astype("int64").to_numpy())
        frame = frame[valid].reset_index(drop=True)
    return FlatValidation(frame, problems, len(raw))


def _frame(out: dict[str, object]) -> pd.DataFrame:
    """The validated columns as a frame: Categoricals for text, nullable integers for whole numbers."""
    columns = {}
    for name, values in out.items():
        if isinstance(values, _Coded):
            columns[name] = values.categorical()
        elif name in ("age", "days"):
            columns[name] = _whole(values)
        else:
            columns[name] = values
    return pd.DataFrame(columns, copy=False)


def _site(c: _Checker, site: str | None) -> _Coded:
    codes, values = c.coded("site")
    if site is not None:
        other = np.append(values != site, False)[codes]
        c.fail(other, "site", lambda: c.text("site").rows(), f"this import is for site {site} only (--site)")
        if (codes < 0).any():
            if site not in set(values):
                values = np.append(values, np.array([site], dtype="object"))
            codes = np.where(codes < 0, int(np.flatnonzero(values == site)[0]), codes)
    c.fail(codes < 0, "site", "", "every row needs a site")
    c.too_long("site")
    return _Coded(codes, values)


def _header_problems(columns: pd.Index, *, site: str | None) -> pd.DataFrame:
    names = list(columns)
    shown = wrong_separator(names)
    if shown is not None:  # one problem that names the cause, not one per missing column
        return problems_frame(1, "(header)", str(names[0])[:80], f"the columns are separated by {shown}, not commas: save the file as CSV with commas (in Excel: CSV UTF-8, comma delimited)")
    unknown = [n for n in names if n not in KNOWN_COLUMNS]
    found = []
    if unknown:
        found.append(problems_frame(1, "(header)", unknown, f"not a column of the flat format (known: {', '.join(KNOWN_COLUMNS)})"))
    required = ["patient_id", "sex", "etiology", "procedure_date", "vps"] + ([] if site else ["site"])
    missing = [n for n in required if n not in names]
    if "age" not in names and "birth_date" not in names:
        missing.append("age or birth_date")
    if "assessed_on" not in names and "days" not in names:
        missing.append("assessed_on or days")
    if missing:
        found.append(problems_frame(1, "(header)", missing, "a required column is missing"))
    return combine(found) if found else no_problems()


def _per_patient_any(flags: np.ndarray, patients: np.ndarray) -> np.ndarray:
    """Per row: does any row of the same patient have the flag? (True where there is no patient.)"""
    has = patients >= 0
    seen = np.bincount(patients[has & flags], minlength=int(patients.max(initial=-1)) + 1) > 0
    out = np.ones(len(patients), dtype=bool)
    out[has] = seen[patients[has]]
    return out


def _age_checks(c: _Checker, out: dict) -> None:
    birth, procedure, age = out["birth_date"], out["procedure_date"], out["age"]
    stated = _per_patient_any(~c.blank("age") | ~c.blank("birth_date"), out["patient_id"].codes)
    c.fail(~stated, "age", "", "every patient needs the age at the procedure or the birth date")
    known = ~np.isnat(birth) & ~np.isnat(procedure)
    if not known.any():
        return
    b, p = pd.DatetimeIndex(birth[known]), pd.DatetimeIndex(procedure[known])
    born_before = (p.month * 100 + p.day) < (b.month * 100 + b.day)
    computed = np.full(len(birth), np.nan)
    computed[known] = p.year - b.year - born_before.astype(int)
    after = known & (birth > procedure)
    c.fail(after, "birth_date", lambda: _iso(birth), "the birth date must come before the procedure")
    too_old = known & ~after & (computed > rules.AGE_MAX)
    c.fail(too_old, "birth_date", lambda: _iso(birth), f"age at the procedure must be a whole number of years from {rules.AGE_MIN} to {rules.AGE_MAX}")
    mismatch = known & ~after & ~np.isnan(age) & (age != computed)
    c.fail(
        mismatch, "age", lambda: _whole(age).astype(str),
        lambda: "age must be the whole years from birth_date to procedure_date (" + pd.Series(_whole(computed)).astype(str) + ")",
    )


_TIMEPOINTS = _vocabulary_codes(TIMEPOINT)
_BASELINE, _UNSCHEDULED = TIMEPOINT.codes.index("baseline"), TIMEPOINT.codes.index(UNSCHEDULED)


def _timepoints(c: _Checker, out: dict) -> None:
    days = out["days"]
    known_days = ~np.isnan(days)
    timepoint = c.vocabulary("timepoint", TIMEPOINT).codes
    blank = c.blank("timepoint") & known_days
    if blank.any():
        derived: dict[int, int] = {}
        for d in np.unique(days[blank]).astype("int64"):
            try:
                derived[int(d)] = TIMEPOINT.codes.index(derive_timepoint(int(d)))
            except DomainError:
                derived[int(d)] = -1
        c.fail(blank & (days == 0), "timepoint", "", "an assessment on the procedure day is baseline or post; give the timepoint")
        timepoint = timepoint.copy()
        timepoint[blank] = pd.Series(days[blank].astype("int64")).map(derived).to_numpy()
    out["timepoint"] = _Coded(timepoint, _TIMEPOINTS)
    known = (timepoint >= 0) & known_days
    late = known & (timepoint == _BASELINE) & (days > 0)
    dated = ~c.blank("assessed_on")  # the cell the person wrote is the one reported
    early = known_days & (days < rules.ASSESSMENT_DAYS_MIN)  # whatever the timepoint: refused, never "unscheduled"
    for column, rows, rule in (
        ("assessed_on", late & dated, "a baseline assessment must be on or before the procedure date"),
        ("days", late & ~dated, "a baseline assessment must be on or before the procedure date"),
        ("assessed_on", early & dated, rules.RULE_SCORE_TOO_EARLY),
        ("days", early & ~dated, rules.RULE_SCORE_TOO_EARLY),
    ):
        c.fail(rows, column, lambda column=column: c.raw_text(column), rule)
    check = known & ~late & ~early
    whole_days = np.where(known_days, days, 0).astype("int64")
    # one key per (timepoint, day) pair: each distinct pair is checked once
    key = timepoint.astype("int64") * (1 << 40) + (whole_days + (1 << 39))
    distinct = pd.unique(key[check])
    broken = {}
    for k in distinct.tolist():
        t, d = divmod(k, 1 << 40)
        try:
            check_timepoint_matches_days(TIMEPOINT.codes[t], d - (1 << 39))
            rules.check_assessment_days(d - (1 << 39))
        except DomainError as exc:
            broken[k] = exc.rule
    if broken:
        bad = check & np.isin(key, list(broken))
        shown = lambda: np.array([f"{TIMEPOINT.codes[t]} (day {d})" if ok else "" for t, d, ok in zip(timepoint, whole_days, bad)], dtype="object")  # noqa: E731
        c.fail(bad, "timepoint", shown, lambda: pd.Series(key).map(broken).to_numpy())


def _follow_up(c: _Checker, out: dict) -> None:
    codes, parsed = c._parse_distinct("recurrent_pain")
    value = np.array([bool(p) if p is not None else False for p in parsed])[codes]
    missing = np.array([p is None for p in parsed])[codes]
    out["recurrent_pain"] = pd.arrays.BooleanArray(value, missing)
    given = ~c.blank("recurrent_pain")
    baseline = out["timepoint"].codes == _BASELINE
    c.fail(given & baseline, "recurrent_pain", lambda: c.raw_text("recurrent_pain"), "recurrent back pain is recorded at follow-up, not at baseline")
    c.fail(given & ~baseline & c.blank("venue"), "recurrent_pain", lambda: c.raw_text("recurrent_pain"), "recurrent back pain is recorded at a follow-up encounter: give its venue")


def _fracture(c: _Checker, out: dict) -> None:
    codes, parsed = c._parse_distinct("levels")
    joined = np.array([None if levels is None else ";".join(levels) for levels in parsed], dtype="object")
    counts = np.array([1 if levels is None else len(levels) for levels in parsed], dtype="float64")
    out["levels"] = _Coded.of(codes, joined[:-1])
    cement = c.parse("cement_ml", dtype="float64")
    per_level = cement / counts[codes]
    with np.errstate(invalid="ignore"):
        bad = ~c.blank("cement_ml") & ~((per_level > 0) & (per_level <= rules.CEMENT_ML_MAX))
    rule = f"cement volume must be more than 0 and at most {rules.CEMENT_ML_MAX:g} ml per level (the file gives the total of the procedure's levels)"
    c.fail(bad & ~np.isnan(per_level), "cement_ml", lambda: c.raw_text("cement_ml"), rule)
    out["cement_ml"] = np.where(bad, np.nan, cement)
    given = ~c.blank("pathologic_cause") | ~c.blank("pathologic_basis")
    etiology = out["etiology"].codes
    wrong = given & (etiology >= 0) & (etiology != ETIOLOGY.codes.index("pathologic"))

    def shown() -> np.ndarray:
        cause, basis = out["pathologic_cause"].rows(), out["pathologic_basis"].rows()
        return np.where(pd.isna(cause), basis, cause)

    c.fail(wrong, "pathologic_cause", shown, "only a pathologic fracture has a cause and basis")


def _one_score_per_timepoint(c: _Checker, out: dict, patients: np.ndarray) -> None:
    timepoint = out["timepoint"].codes
    day = np.where(timepoint == _UNSCHEDULED, out["assessed_on"].astype("datetime64[D]").astype("int64"), 0)
    repeated = repeated_assessments(patients, timepoint, day) >= 0
    if not repeated.any():
        return
    ids, names = out["patient_id"].rows()[repeated], _TIMEPOINTS[timepoint[repeated]]
    frame = pd.DataFrame({"p": ids, "t": names, "d": day[repeated], "line": out["line"][repeated]})
    lines = frame.groupby(["p", "t", "d"])["line"].transform(lambda s: ", ".join(map(str, s)))
    rule = "one score per patient and timepoint: patient " + frame["p"] + " has " + frame["t"] + " on lines " + lines
    full_rule = np.empty(len(patients), dtype="object")
    full_rule[repeated] = rule.to_numpy()
    c.fail(repeated, "timepoint", lambda: out["timepoint"].rows(), full_rule)


def _value_codes(values: object) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column's values (-1 where missing) and where it has a value."""
    if isinstance(values, _Coded):
        return values.codes, values.present()
    array = np.asarray(values)
    present = ~np.isnat(array) if array.dtype.kind == "M" else ~np.isnan(array)
    return pd.factorize(array, use_na_sentinel=True)[0], present


def _shown(name: str, values: object, rows: np.ndarray) -> pd.Series:
    """Values of ``rows`` as the error report quotes them."""
    if isinstance(values, _Coded):
        return pd.Series(values.rows()[rows], dtype="object").astype(str)
    if name == "age":
        return pd.Series(_whole(np.asarray(values)[rows])).astype(str)
    return pd.Series(np.asarray(values)[rows]).astype(str)


def _fixed_fields_agree(c: _Checker, out: dict, patients: np.ndarray) -> None:
    """A patient's fixed fields agree across rows; a blank cell takes the patient's value."""
    has_patient = patients >= 0
    count = int(patients.max(initial=-1)) + 1
    for column in FIXED_COLUMNS:
        values = out[column]
        codes, present = _value_codes(values)
        if not present.any():
            continue
        conflicting = np.flatnonzero(conflicting_patients(patients, np.where(present, codes, -1)))
        if len(conflicting):
            rows = np.isin(patients, conflicting)
            with_value = rows & present
            key = _shown(column, values, with_value)
            ids = pd.Series(out["patient_id"].rows()[with_value], dtype="object")
            shown = key.groupby(ids.to_numpy()).agg(lambda s: " / ".join(sorted(s.unique())))
            row_ids = pd.Series(out["patient_id"].rows()[rows], dtype="object")
            full_shown = np.empty(len(patients), dtype="object")
            full_shown[rows] = row_ids.map(shown).to_numpy()
            full_rule = np.empty(len(patients), dtype="object")
            full_rule[rows] = ("patient " + row_ids + " has conflicting values across rows").to_numpy()
            c.fail(rows, column, full_shown, full_rule)
        blank = ~present & has_patient
        if blank.any():
            with_value = np.flatnonzero(present & has_patient)
            first_patients, first = np.unique(patients[with_value], return_index=True)
            first_row = np.full(count, -1)
            first_row[first_patients] = with_value[first]
            source = np.where(blank, first_row[np.where(has_patient, patients, 0)], -1)
            fill = source >= 0
            if isinstance(values, _Coded):
                filled = values.codes.copy()
                filled[fill] = values.codes[source[fill]]
                out[column] = _Coded(filled, values.values)
            else:
                filled = np.array(values, copy=True)
                filled[fill] = filled[source[fill]]
                out[column] = filled
