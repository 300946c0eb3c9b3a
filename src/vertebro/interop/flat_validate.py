"""Validation of a flat-format table, row by row and across rows, vectorised.

Every rule is the domain layer's own (``vertebro.domain``): a parser is applied once per distinct value
of a column (vocabularies, dates and scores repeat a lot, so a million rows cost a few thousand calls)
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
from ..domain.flat import FLAT_COLUMNS, FLAT_OPTIONAL_COLUMNS
from ..domain.levels import parse_levels
from ..domain.timepoints import SCHEDULE, UNSCHEDULED, check_timepoint_matches_days, derive_timepoint
from ..domain.vocabulary import ETIOLOGY, INSTRUMENT, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE, SEX, VENUE, Vocabulary
from .problems import combine, no_problems, problems_frame
from .sanitize import restore_text

TIMEPOINT = Vocabulary("timepoint", tuple((tp.code, tp.label) for tp in SCHEDULE) + ((UNSCHEDULED, "Unscheduled"),))
#: Columns a flat file may carry beyond the flat format's own.
EXTRA_COLUMNS = ("birth_date", "mrn", "name", "pathologic_cause", "pathologic_basis", "instrument")
KNOWN_COLUMNS = tuple(dict.fromkeys(FLAT_COLUMNS + FLAT_OPTIONAL_COLUMNS + EXTRA_COLUMNS))
#: A patient's fixed fields: the same on every row of that patient.
FIXED_COLUMNS = (
    "site", "sex", "age", "birth_date", "etiology", "procedure_date", "levels", "cement_ml",
    "mrn", "name", "pathologic_cause", "pathologic_basis",
)
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


def _take(uniques: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Per-row values from distinct values and codes; None where the code is -1."""
    table = np.append(np.asarray(uniques, dtype="object"), None)
    return pd.Series(table[codes], dtype="object")


class _Checker:
    """Collects problems while columns are parsed; ``lines`` numbers the rows."""

    def __init__(self, raw: pd.DataFrame, lines: np.ndarray):
        self.raw = raw
        self.lines = np.asarray(lines)
        self.found: list[pd.DataFrame] = []
        self._coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._texts: dict[str, pd.Series] = {}

    def coded(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in self._coded:
            if column in self.raw:
                self._coded[column] = coded_text(self.raw[column])
            else:
                self._coded[column] = (np.full(len(self.raw), -1, dtype="int64"), np.array([], dtype="object"))
        return self._coded[column]

    def text(self, column: str) -> pd.Series:
        """Stripped text; None for blank or absent."""
        if column not in self._texts:
            self._texts[column] = _take(*reversed(self.coded(column)))
        return self._texts[column]

    def blank(self, column: str) -> np.ndarray:
        return self.coded(column)[0] < 0

    def fail(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series | np.ndarray | str, rule: pd.Series | np.ndarray | str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return

        def pick(v):  # noqa: ANN001, ANN202
            if isinstance(v, (pd.Series, np.ndarray)):
                return pd.Series(np.asarray(v, dtype="object")[mask]).astype(str).to_numpy()
            return v

        self.found.append(problems_frame(self.lines[mask], column, pick(values), pick(rule)))

    def parse(self, column: str, parse: Callable[[str], object], *, dtype: str = "object") -> pd.Series:
        """Apply ``parse`` once per distinct non-blank value; rows whose value fails get its rule.
        Returns the parsed values (``dtype``: ``object`` with None, ``float64`` with NaN or
        ``datetime64[ns]`` with NaT for blank and broken cells)."""
        codes, uniques = self.coded(column)
        parsed = np.empty(len(uniques) + 1, dtype="object")
        rules_ = np.empty(len(uniques) + 1, dtype="object")
        for i, value in enumerate(uniques):
            try:
                parsed[i] = parse(value)
            except DomainError as exc:
                rules_[i] = exc.rule
        bad_unique = np.append(pd.notna(rules_[:-1]), False)
        bad = bad_unique[codes]
        if bad.any():
            self.fail(bad, column, self.raw_text(column), rules_[codes])
        parsed[bad_unique] = None
        if dtype == "datetime64[ns]":
            typed = pd.to_datetime(pd.Series(parsed), errors="coerce").to_numpy()
        elif dtype == "float64":
            typed = pd.to_numeric(pd.Series(parsed), errors="coerce").to_numpy(dtype="float64")
        else:
            typed = parsed
        return pd.Series(typed[codes], dtype=dtype)

    def raw_text(self, column: str) -> np.ndarray:
        return self.raw[column].to_numpy() if column in self.raw else np.full(len(self.raw), "", dtype="object")

    def too_long(self, column: str, values: pd.Series) -> None:
        limit = TEXT_LIMITS[column]
        codes, uniques = self.coded(column) if column in self.raw else (None, None)
        if codes is None:
            return
        long_unique = np.append(np.array([len(str(u)) > limit for u in uniques], dtype=bool), False)
        self.fail(long_unique[codes], column, self.text(column), f"{column} is at most {limit} characters long")


def _whole_days(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number.is_integer():
        raise DomainError("days", value, "days from the procedure must be a whole number")
    return int(number)


def _birth_date(value: str, *, today: date) -> date:
    """A date of birth: an ISO date, not in the future (the 1980 floor of registry dates does not apply)."""
    try:
        born = date.fromisoformat(value[:10])
    except ValueError:
        raise DomainError("birth_date", value, "a date must be written YYYY-MM-DD") from None
    if born > today:
        raise DomainError("birth_date", value, f"a birth date cannot lie after today ({today})")
    return born


def _dates(checker: _Checker, column: str, today: date) -> pd.Series:
    if column == "birth_date":
        return checker.parse(column, lambda v: _birth_date(v, today=today), dtype="datetime64[ns]")
    return checker.parse(column, lambda v: rules.parse_date(v, field=column, today=today), dtype="datetime64[ns]")


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
    """
    today = today or date.today()
    raw = raw.reset_index(drop=True)
    lines = np.arange(2, len(raw) + 2) if lines is None else np.asarray(lines)
    c = _Checker(raw, lines)
    header = _header_problems(raw.columns, site=site)
    if len(header):
        return FlatValidation(raw.iloc[0:0], combine([header]), len(raw))

    out = pd.DataFrame({"line": lines})
    patient_id = c.text("patient_id")
    c.fail(c.blank("patient_id"), "patient_id", "", "every row needs a patient_id")
    c.too_long("patient_id", patient_id)
    out["patient_id"] = patient_id
    site_values = c.text("site")
    if site is not None:
        c.fail(site_values.notna() & (site_values != site), "site", site_values, f"this import is for site {site} only (--site)")
        site_values = site_values.fillna(site)
    c.fail(site_values.isna(), "site", "", "every row needs a site")
    c.too_long("site", site_values)
    out["site"] = site_values
    for column, vocabulary in (("sex", SEX), ("etiology", ETIOLOGY)):
        out[column] = c.parse(column, lambda v, voc=vocabulary, col=column: voc.parse(v, field=col))
        c.fail(c.blank(column), column, "", f"every row needs its {column}")
    for column, vocabulary in (("venue", VENUE), ("instrument", INSTRUMENT), ("pathologic_cause", PATHOLOGIC_CAUSE), ("pathologic_basis", PATHOLOGIC_BASIS)):
        out[column] = c.parse(column, lambda v, voc=vocabulary, col=column: voc.parse(v, field=col))
    for column in ("mrn", "name"):
        out[column] = c.text(column)
        c.too_long(column, out[column])

    out["procedure_date"] = _dates(c, "procedure_date", today)
    c.fail(c.blank("procedure_date"), "procedure_date", "", "every row needs the procedure date")
    out["birth_date"] = _dates(c, "birth_date", today)
    out["age"] = c.parse("age", lambda v: rules.parse_age(v, field="age"), dtype="float64").astype("Int64")
    _age_checks(c, out)

    assessed_on = _dates(c, "assessed_on", today)
    days_given = c.parse("days", _whole_days, dtype="float64").to_numpy()
    from_dates = ((assessed_on - out["procedure_date"]) / np.timedelta64(1, "D")).to_numpy()
    disagree = ~np.isnan(from_dates) & ~np.isnan(days_given) & (from_dates != days_given)
    c.fail(disagree, "days", c.raw_text("days"), "days must equal assessed_on − procedure_date")
    days = np.where(np.isnan(from_dates), days_given, from_dates)
    out["assessed_on"] = assessed_on.fillna(out["procedure_date"] + pd.to_timedelta(days, unit="D"))
    c.fail(c.blank("assessed_on") & c.blank("days"), "assessed_on", "", "every row needs assessed_on (or days from the procedure)")
    out["days"] = pd.array(days, dtype="Float64").astype("Int64")
    future = (out["assessed_on"] > pd.Timestamp(today)).to_numpy()
    if future.any():
        c.fail(future, "assessed_on", out["assessed_on"].dt.strftime("%Y-%m-%d"), f"a date must lie between {rules.EARLIEST_DATE} and today ({today})")
    out["vps"] = c.parse("vps", lambda v: rules.parse_score(v, field="vps"), dtype="float64")
    c.fail(c.blank("vps"), "vps", "", "pain score must be a number from 0 to 10")

    _timepoints(c, out)
    _follow_up(c, out)
    _fracture(c, out)
    patient_codes = pd.factorize(out["patient_id"], use_na_sentinel=True)[0]
    _one_score_per_timepoint(c, out, patient_codes)
    _fixed_fields_agree(c, out, patient_codes)

    problems = combine(c.found)
    valid = ~np.isin(lines, problems["line"].dropna().astype("int64").to_numpy())
    return FlatValidation(out[valid].reset_index(drop=True), problems, len(raw))


def _header_problems(columns: pd.Index, *, site: str | None) -> pd.DataFrame:
    names = list(columns)
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


def _age_checks(c: _Checker, out: pd.DataFrame) -> None:
    birth, procedure = out["birth_date"], out["procedure_date"]
    stated = (c.text("age").notna() | c.text("birth_date").notna()).groupby(out["patient_id"]).transform("any")
    c.fail(~stated.to_numpy(dtype=bool), "age", "", "every patient needs the age at the procedure or the birth date")
    known = birth.notna() & procedure.notna()
    if not known.any():
        return
    born_before = (procedure[known].dt.month * 100 + procedure[known].dt.day) < (birth[known].dt.month * 100 + birth[known].dt.day)
    computed = pd.Series(pd.NA, index=out.index, dtype="Int64")
    computed[known] = (procedure[known].dt.year - birth[known].dt.year - born_before.astype(int)).astype("Int64")
    after = known & (birth > procedure)
    c.fail(after, "birth_date", birth.dt.strftime("%Y-%m-%d"), "the birth date must come before the procedure")
    too_old = known & ~after & (computed > rules.AGE_MAX).fillna(False)
    c.fail(too_old, "birth_date", birth.dt.strftime("%Y-%m-%d"), f"age at the procedure must be a whole number of years from {rules.AGE_MIN} to {rules.AGE_MAX}")
    mismatch = known & ~after & out["age"].notna() & (out["age"] != computed).fillna(False)
    c.fail(mismatch, "age", out["age"].astype(str), "age must be the whole years from birth_date to procedure_date (" + computed.astype(str) + ")")


def _timepoints(c: _Checker, out: pd.DataFrame) -> None:
    days = out["days"]
    stated = c.parse("timepoint", lambda v: TIMEPOINT.parse(v, field="timepoint"))
    blank = c.blank("timepoint") & days.notna().to_numpy()
    if blank.any():
        derived: dict[int, str | None] = {}
        for d in days[blank].unique():
            try:
                derived[int(d)] = derive_timepoint(int(d))
            except DomainError:
                derived[int(d)] = None
        c.fail(blank & (days == 0).fillna(False).to_numpy(), "timepoint", "", "an assessment on the procedure day is baseline or post; give the timepoint")
        stated = stated.where(~blank, days.map(derived, na_action="ignore").astype("object"))
    timepoint = stated
    out["timepoint"] = timepoint
    known = (timepoint.notna() & days.notna()).to_numpy()
    late = known & (timepoint == "baseline").to_numpy() & (days > 0).fillna(False).to_numpy()
    c.fail(late, "assessed_on", days.astype(str), "a baseline assessment must be on or before the procedure date")
    check = known & ~late
    tp_codes, tp_uniques = pd.factorize(timepoint.where(check, None), use_na_sentinel=True)
    day_values = days.fillna(0).to_numpy(dtype="int64")
    pairs = pd.DataFrame({"t": tp_codes, "d": day_values})[check].drop_duplicates()
    broken = {}
    for t, d in pairs.itertuples(index=False):
        try:
            check_timepoint_matches_days(tp_uniques[t], int(d))
            rules.check_assessment_days(int(d))
        except DomainError as exc:
            broken[(t, d)] = exc.rule
    if broken:
        rule = pd.Series(list(zip(tp_codes, day_values))).map(broken)
        bad = rule.notna().to_numpy() & check
        c.fail(bad, "timepoint", timepoint.astype(str) + " (day " + days.astype(str) + ")", rule)


def _follow_up(c: _Checker, out: pd.DataFrame) -> None:
    recurrent = c.parse("recurrent_pain", lambda v: rules.parse_flag(v, field="recurrent_pain"))
    out["recurrent_pain"] = recurrent
    given = ~c.blank("recurrent_pain")
    baseline = (out["timepoint"] == "baseline").to_numpy()
    c.fail(given & baseline, "recurrent_pain", c.raw_text("recurrent_pain"), "recurrent back pain is recorded at follow-up, not at baseline")
    c.fail(given & ~baseline & c.blank("venue"), "recurrent_pain", c.raw_text("recurrent_pain"), "recurrent back pain is recorded at a follow-up encounter: give its venue")


def _fracture(c: _Checker, out: pd.DataFrame) -> None:
    codes, uniques = c.coded("levels")
    joined, counts = np.empty(len(uniques) + 1, dtype="object"), np.ones(len(uniques) + 1)
    rules_ = np.empty(len(uniques) + 1, dtype="object")
    for i, value in enumerate(uniques):
        try:
            levels = parse_levels(value)
            joined[i], counts[i] = ";".join(levels), len(levels)
        except DomainError as exc:
            rules_[i] = exc.rule
    bad_levels = np.append(pd.notna(rules_[:-1]), False)[codes]
    c.fail(bad_levels, "levels", c.raw_text("levels"), rules_[codes])
    out["levels"] = pd.Series(joined[codes], dtype="object")
    cement = c.parse("cement_ml", lambda v: _number(v, "cement_ml"), dtype="float64")
    per_level = cement.to_numpy() / counts[codes]
    with np.errstate(invalid="ignore"):
        bad = ~c.blank("cement_ml") & ~((per_level > 0) & (per_level <= rules.CEMENT_ML_MAX))
    rule = f"cement volume must be more than 0 and at most {rules.CEMENT_ML_MAX:g} ml per level (the file gives the total of the procedure's levels)"
    c.fail(bad & ~np.isnan(per_level), "cement_ml", c.raw_text("cement_ml"), rule)
    out["cement_ml"] = cement.where(~bad)
    given = ~c.blank("pathologic_cause") | ~c.blank("pathologic_basis")
    wrong = given & out["etiology"].notna().to_numpy() & (out["etiology"] != "pathologic").to_numpy()
    c.fail(wrong, "pathologic_cause", out["pathologic_cause"].fillna(out["pathologic_basis"]).astype(str), "only a pathologic fracture has a cause and basis")


def _number(value: str, field: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DomainError(field, value, f"cement volume must be more than 0 and at most {rules.CEMENT_ML_MAX:g} ml per level") from None


def _one_score_per_timepoint(c: _Checker, out: pd.DataFrame, patients: np.ndarray) -> None:
    timepoints = out["timepoint"]
    tp_codes = pd.factorize(timepoints, use_na_sentinel=True)[0]
    unscheduled = (timepoints == UNSCHEDULED).to_numpy()
    day = np.where(unscheduled, out["assessed_on"].to_numpy().astype("datetime64[D]").astype("int64"), 0)
    keyed = (patients >= 0) & (tp_codes >= 0)
    key = pd.DataFrame({"p": patients, "t": tp_codes, "d": day})
    repeated = keyed & key.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    frame = pd.DataFrame({"p": out["patient_id"], "t": timepoints, "d": day, "line": out["line"]})[repeated]
    lines = frame.groupby(["p", "t", "d"])["line"].transform(lambda s: ", ".join(map(str, s)))
    rule = "one score per patient and timepoint: patient " + frame["p"] + " has " + frame["t"] + " on lines " + lines
    full_rule = np.empty(len(out), dtype="object")
    full_rule[repeated] = rule.to_numpy()
    c.fail(repeated, "timepoint", timepoints, full_rule)


def _fixed_fields_agree(c: _Checker, out: pd.DataFrame, patients: np.ndarray) -> None:
    """A patient's fixed fields agree across rows; a blank cell takes the patient's value."""
    has_patient = patients >= 0
    for column in FIXED_COLUMNS:
        values = out[column]
        present = values.notna().to_numpy()
        if not present.any():
            continue
        codes = pd.factorize(values, use_na_sentinel=True)[0]
        pairs = pd.DataFrame({"p": patients, "v": codes})[present & has_patient].drop_duplicates()
        counts = pairs.groupby("p").size()
        conflicting = counts.index[counts.to_numpy() > 1].to_numpy()
        if len(conflicting):
            rows = np.isin(patients, conflicting)
            key = values.astype(str)
            shown = key[rows & present].groupby(out["patient_id"][rows & present]).agg(lambda s: " / ".join(sorted(s.unique())))
            ids = out["patient_id"]
            full_shown = np.empty(len(out), dtype="object")
            full_shown[rows] = ids[rows].map(shown).to_numpy()
            full_rule = np.empty(len(out), dtype="object")
            full_rule[rows] = ("patient " + ids[rows] + " has conflicting values across rows").to_numpy()
            c.fail(rows, column, full_shown, full_rule)
        if not present.all():
            first = pd.Series(values.to_numpy()[present], index=patients[present]).groupby(level=0).first()
            filled = pd.Series(patients).map(first)
            out[column] = values.where(present, filled.astype(values.dtype) if values.dtype != object else filled)
