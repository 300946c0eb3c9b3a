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


class _Checker:
    """Collects problems while columns are parsed; ``lines`` numbers the rows."""

    def __init__(self, raw: pd.DataFrame, lines: np.ndarray):
        self.raw = raw
        self.lines = np.asarray(lines)
        self.found: list[pd.DataFrame] = []
        self._texts: dict[str, pd.Series] = {}

    def text(self, column: str) -> pd.Series:
        """Stripped text; missing for blank or absent. A spreadsheet-safety apostrophe that an
        export put before ``= + - @`` is taken off again (``sanitize``)."""
        if column in self._texts:
            return self._texts[column]
        if column not in self.raw:
            return pd.Series(None, index=self.raw.index, dtype="object")
        values = self.raw[column].astype("object").fillna("").astype(str).str.strip()
        if values.str.startswith("'").any():
            values = restore_text(values)
        self._texts[column] = values.where(values != "", None)
        return self._texts[column]

    def fail(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series | str, rule: pd.Series | str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pick = (lambda v: v[mask].to_numpy() if isinstance(v, pd.Series) else v)
        self.found.append(problems_frame(self.lines[mask], column, pick(values), pick(rule)))

    def parse(self, column: str, parse: Callable[[str], object], *, values: pd.Series | None = None) -> pd.Series:
        """Apply ``parse`` once per distinct non-blank value; rows whose value fails get its rule."""
        values = self.text(column) if values is None else values
        parsed: dict[object, object] = {}
        broken: dict[object, str] = {}
        for value in values.dropna().unique():
            try:
                parsed[value] = parse(value)
            except DomainError as exc:
                broken[value] = exc.rule
        bad = values.isin(list(broken)).to_numpy() & values.notna().to_numpy()
        self.fail(bad, column, self.raw_text(column, values), values.map(broken))
        return values.map(parsed).astype("object").where(values.notna() & ~bad, None)

    def raw_text(self, column: str, fallback: pd.Series) -> pd.Series:
        return self.raw[column].astype(str) if column in self.raw else fallback.astype(str)

    def too_long(self, column: str, values: pd.Series) -> None:
        limit = TEXT_LIMITS[column]
        long = values.fillna("").str.len().to_numpy() > limit
        self.fail(long, column, values, f"{column} is at most {limit} characters long")


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
        parsed = checker.parse(column, lambda v: _birth_date(v, today=today))
    else:
        parsed = checker.parse(column, lambda v: rules.parse_date(v, field=column, today=today))
    return pd.to_datetime(parsed.where(parsed.notna(), None).astype("object"), errors="coerce")


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

    out = pd.DataFrame(index=raw.index)
    out["line"] = lines
    patient_id = c.text("patient_id")
    c.fail(patient_id.isna(), "patient_id", "", "every row needs a patient_id")
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
        c.fail(c.text(column).isna(), column, "", f"every row needs its {column}")
    for column, vocabulary in (("venue", VENUE), ("instrument", INSTRUMENT), ("pathologic_cause", PATHOLOGIC_CAUSE), ("pathologic_basis", PATHOLOGIC_BASIS)):
        out[column] = c.parse(column, lambda v, voc=vocabulary, col=column: voc.parse(v, field=col))
    for column in ("mrn", "name"):
        out[column] = c.text(column)
        c.too_long(column, out[column])

    out["procedure_date"] = _dates(c, "procedure_date", today)
    c.fail(c.text("procedure_date").isna(), "procedure_date", "", "every row needs the procedure date")
    out["birth_date"] = _dates(c, "birth_date", today)
    out["age"] = pd.array(c.parse("age", lambda v: rules.parse_age(v, field="age")), dtype="Int64")
    _age_checks(c, out)

    assessed_on = _dates(c, "assessed_on", today)
    days_given = pd.array(c.parse("days", _whole_days), dtype="Int64")
    from_dates = (assessed_on - out["procedure_date"]).dt.days
    disagree = from_dates.notna().to_numpy() & ~days_given.isna() & (from_dates.to_numpy() != days_given.fillna(0).to_numpy())
    c.fail(disagree, "days", c.raw_text("days", pd.Series(days_given)), "days must equal assessed_on − procedure_date")
    days = pd.Series(from_dates, dtype="Int64").fillna(pd.Series(days_given, index=raw.index))
    out["assessed_on"] = assessed_on.fillna(out["procedure_date"] + pd.to_timedelta(days.astype("float64"), unit="D"))
    no_date = c.text("assessed_on").isna().to_numpy() & c.text("days").isna().to_numpy()
    c.fail(no_date, "assessed_on", "", "every row needs assessed_on (or days from the procedure)")
    out["days"] = days
    c.fail(out["assessed_on"].notna() & (out["assessed_on"] > pd.Timestamp(today)), "assessed_on", out["assessed_on"].dt.strftime("%Y-%m-%d"), f"a date must lie between {rules.EARLIEST_DATE} and today ({today})")
    out["vps"] = c.parse("vps", lambda v: rules.parse_score(v, field="vps")).astype("float64")
    c.fail(c.text("vps").isna(), "vps", "", "pain score must be a number from 0 to 10")

    _timepoints(c, out)
    _follow_up(c, out)
    _fracture(c, out)
    _one_score_per_timepoint(c, out)
    _fixed_fields_agree(c, out)

    problems = combine(c.found)
    valid = ~out["line"].isin(problems["line"].dropna().astype("int64").to_numpy())
    return FlatValidation(out[valid.to_numpy()].reset_index(drop=True), problems, len(raw))


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
    blank = c.text("timepoint").isna() & days.notna()
    derived: dict[int, str] = {}
    day_zero = "an assessment on the procedure day is baseline or post; give the timepoint"
    for d in days[blank].dropna().unique():
        try:
            derived[int(d)] = derive_timepoint(int(d))
        except DomainError:
            pass
    c.fail(blank & (days == 0).fillna(False), "timepoint", "", day_zero)
    timepoint = stated.where(~blank, days.map(derived, na_action="ignore").astype("object"))
    out["timepoint"] = timepoint
    known = timepoint.notna() & days.notna()
    baseline_late = known & (timepoint == "baseline") & (days > 0).fillna(False)
    c.fail(baseline_late, "assessed_on", days.astype(str), "a baseline assessment must be on or before the procedure date")
    window_rules: dict[tuple[str, int], str] = {}
    pairs = pd.DataFrame({"tp": timepoint[known & ~baseline_late], "d": days[known & ~baseline_late]}).drop_duplicates()
    for tp, d in pairs.itertuples(index=False):
        try:
            check_timepoint_matches_days(tp, int(d))
            rules.check_assessment_days(int(d))
        except DomainError as exc:
            window_rules[(tp, int(d))] = exc.rule
    if window_rules:
        key = pd.Series(list(zip(timepoint, days.fillna(-10**9).astype("int64"))), index=out.index)
        rule = key.map(window_rules)
        c.fail(rule.notna(), "timepoint", timepoint.astype(str) + " (day " + days.astype(str) + ")", rule)


def _follow_up(c: _Checker, out: pd.DataFrame) -> None:
    recurrent = c.parse("recurrent_pain", lambda v: rules.parse_flag(v, field="recurrent_pain"))
    out["recurrent_pain"] = recurrent
    given = recurrent.notna()
    c.fail(given & (out["timepoint"] == "baseline"), "recurrent_pain", c.raw_text("recurrent_pain", recurrent), "recurrent back pain is recorded at follow-up, not at baseline")
    c.fail(given & (out["timepoint"] != "baseline") & out["venue"].isna() & c.text("venue").isna(), "recurrent_pain", c.raw_text("recurrent_pain", recurrent), "recurrent back pain is recorded at a follow-up encounter: give its venue")


def _fracture(c: _Checker, out: pd.DataFrame) -> None:
    levels = c.parse("levels", parse_levels)
    out["levels"] = levels.map(lambda lv: ";".join(lv), na_action="ignore")
    count = levels.map(len, na_action="ignore").astype("float64").fillna(1.0)
    cement_text = c.text("cement_ml")
    cement = pd.to_numeric(cement_text, errors="coerce")
    per_level = cement / count
    rule = f"cement volume must be more than 0 and at most {rules.CEMENT_ML_MAX:g} ml per level"
    bad = cement_text.notna() & ~((per_level > 0) & (per_level <= rules.CEMENT_ML_MAX)).fillna(False)
    c.fail(bad, "cement_ml", cement_text, rule + " (the file gives the total of the procedure's levels)")
    out["cement_ml"] = cement.where(~bad)
    given = out["pathologic_cause"].notna() | out["pathologic_basis"].notna()
    wrong = given & out["etiology"].notna() & (out["etiology"] != "pathologic")
    c.fail(wrong, "pathologic_cause", out["pathologic_cause"].fillna(out["pathologic_basis"]).astype(str), "only a pathologic fracture has a cause and basis")


def _one_score_per_timepoint(c: _Checker, out: pd.DataFrame) -> None:
    keyed = out["patient_id"].notna() & out["timepoint"].notna()
    date_key = out["assessed_on"].dt.strftime("%Y-%m-%d").where(out["timepoint"] == UNSCHEDULED, "")
    frame = pd.DataFrame({"p": out["patient_id"], "t": out["timepoint"], "d": date_key, "line": out["line"]})[keyed]
    repeated = frame[frame.duplicated(["p", "t", "d"], keep=False)]
    if repeated.empty:
        return
    lines = repeated.groupby(["p", "t", "d"])["line"].transform(lambda s: ", ".join(map(str, s)))
    rule = "one score per patient and timepoint: patient " + repeated["p"] + " has " + repeated["t"] + " on lines " + lines
    mask = out.index.isin(repeated.index)
    c.fail(mask, "timepoint", out["timepoint"], pd.Series(rule, index=repeated.index).reindex(out.index))


def _fixed_fields_agree(c: _Checker, out: pd.DataFrame) -> None:
    """A patient's fixed fields agree across rows; a blank cell takes the patient's value."""
    patients = out["patient_id"]
    for column in FIXED_COLUMNS:
        if column not in out or out[column].isna().all():
            continue
        values = out[column]
        key = values.astype(str).where(values.notna(), None)
        counts = key.groupby(patients).nunique()
        conflicting = counts[counts > 1].index
        if len(conflicting):
            rows = patients.isin(conflicting)
            shown = key[rows].groupby(patients[rows]).transform(lambda s: " / ".join(sorted(s.dropna().unique())))
            rule = "patient " + patients[rows] + " has conflicting values across rows"
            c.fail(rows, column, shown.reindex(out.index), rule.reindex(out.index))
        if values.isna().any():
            out[column] = values.groupby(patients).transform("first") if values.notna().any() else values
