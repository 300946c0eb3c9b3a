"""The flat frame in registry terms: one array per column, string work once per distinct value.

Helpers of the bulk write path (:mod:`.flat_import`): codes into distinct values, dates as
``datetime64[ns]``, numbers as floats, and the small comparisons its planning shares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ...domain.errors import DomainError
from ...domain.levels import parse_levels
from ...domain.rules import parse_flag
from ...domain.timepoints import derive_timepoint


def coded(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Stripped text as codes into its distinct values (-1 for blank or an absent column), codes in
    order of first appearance. Cheap for Categoricals (what validation hands over)."""
    if column not in frame:
        return np.full(len(frame), -1, dtype="int64"), np.array([], dtype="object")
    codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    stripped = pd.Series(pd.Index(uniques).astype(str), dtype="object").str.strip()
    recoded, distinct = pd.factorize(stripped.where(stripped != "", None), use_na_sentinel=True)
    return np.append(recoded, -1)[codes], np.asarray(distinct, dtype="object")


def text_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Stripped text per row, None for blank or an absent column."""
    codes, values = coded(frame, column)
    return np.append(values, None)[codes]


def parsed(frame: pd.DataFrame, column: str, parse: Callable[[object], object]) -> np.ndarray:
    """A domain parser applied once per distinct value; None for blank."""
    codes, values = coded(frame, column)
    table = np.empty(len(values) + 1, dtype="object")
    table[:-1] = [parse(value) for value in values]
    return table[codes]


def dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return values.to_numpy(dtype="datetime64[ns]")
    codes, text = coded(frame, column)
    table = pd.to_datetime(pd.Series(text, dtype="object").str.slice(0, 10), format="%Y-%m-%d", errors="raise")
    return np.append(table.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))[codes]


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64").to_numpy()
    codes, text = coded(frame, column)
    table = pd.to_numeric(pd.Series(text, dtype="object"), errors="raise").to_numpy(dtype="float64")
    return np.append(table, np.nan)[codes]


def present(values: np.ndarray) -> np.ndarray:
    return ~pd.isna(values)


def prepare_frame(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The frame in registry terms, one array per column: codes (object, None for blank),
    ``datetime64[ns]`` dates, floats. Also the patient of each row, as codes into the distinct
    study ids (in order of first appearance)."""
    frame = frame.reset_index(drop=True)
    r = {column: text_values(frame, column) for column in ("site", "sex", "etiology", "venue", "mrn", "name", "pathologic_cause", "pathologic_basis", "instrument", "source")}
    patients, study_ids = coded(frame, "patient_id")
    r["procedure_date"] = procedure = dates(frame, "procedure_date")
    r["birth_date"] = dates(frame, "birth_date")
    r["age"] = numbers(frame, "age")
    assessed_on = dates(frame, "assessed_on")
    if "days" in frame:
        days = numbers(frame, "days")
        from_days = np.isnat(assessed_on) & ~np.isnan(days) & ~np.isnat(procedure)
        if from_days.any():
            assessed_on = assessed_on.copy()
            assessed_on[from_days] = procedure[from_days] + np.round(days[from_days]).astype("int64").astype("timedelta64[D]")
    r["assessed_on"] = assessed_on
    if (patients < 0).any() or np.isnat(procedure).any() or np.isnat(assessed_on).any():
        raise DomainError("patient_id", None, "every row needs patient_id, procedure_date and assessed_on (or days)")
    days = ((assessed_on - procedure) // np.timedelta64(1, "D")).astype("int64")
    timepoint = text_values(frame, "timepoint")
    blank = pd.isna(timepoint)
    if blank.any():
        derived = {d: derive_timepoint(int(d)) for d in np.unique(days[blank])}
        timepoint[blank] = pd.Series(days[blank]).map(derived).to_numpy(dtype="object")
    r["timepoint"] = timepoint
    r["score"] = numbers(frame, "vps")
    r["recurrent_pain"] = parsed(frame, "recurrent_pain", lambda v: parse_flag(v, field="recurrent_pain"))
    r["levels"] = parsed(frame, "levels", parse_levels)
    r["cement_ml"] = numbers(frame, "cement_ml")
    orphan = present(r["recurrent_pain"]) & ~present(r["venue"])
    if orphan.any():
        raise DomainError("recurrent_pain", r["recurrent_pain"][orphan][0], "recurrent pain is recorded at a follow-up encounter, which needs its venue")
    if "instrument" not in frame:
        r["instrument"] = None  # every assessment takes the default, one constant
    if "source" not in frame:
        r["source"] = None  # the importer's own: import, or fhir
    return r, patients, study_ids


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Row of the first occurrence of each code 0..k-1 (codes numbered in order of appearance)."""
    distinct = pd.Series(codes).drop_duplicates()
    first = np.empty(len(distinct), dtype="int64")
    first[distinct.to_numpy()] = distinct.index.to_numpy()
    return first


def nullable_ids(values: np.ndarray) -> pd.arrays.IntegerArray:
    missing = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"), missing)


def keep_blank(new: pd.Series, old: pd.Series) -> pd.Series:
    """The file's value, or the registry's where the file is silent (imports never erase)."""
    return new.astype("object").where(new.notna(), old.astype("object"))


def date_column(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("object").where(values.notna(), None))


def prefixed_old(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.add_prefix("old_")
