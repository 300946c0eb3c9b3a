"""Follow-up completeness: per timepoint and group, how many patients were due, seen and missed.

A patient is *expected* at a timepoint once its window has closed by the data cut-off (the latest
assessment date in the input), or when they were seen there anyway; the baseline is expected of everyone.
Without procedure dates and days (a de-identified export) the cut-off cannot be known, and every patient
of the group counts as expected at every timepoint that anyone reached.

The notes say where capture falls below the 80% that spine registries hold as their quality bar
(QOD/American Spine Registry, Swespine: 1-year capture; DESIGN.md §3), and where the two groups' capture
differs by :data:`DIFFERENTIAL_GAP` or more: estimates there rest on the patients who came back, and a
difference between groups may come from who was lost rather than from the treatment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.timepoints import BY_CODE, FOLLOW_UP_CODES
from ..domain.vocabulary import STUDY_GROUPS

__all__ = ["CAPTURE_BAR", "DIFFERENTIAL_GAP", "Completeness", "completeness"]

#: Share of the patients due at a timepoint who must be seen there (registries' quality bar).
CAPTURE_BAR = 0.80
#: Difference in capture between the two groups that is reported as differential loss to follow-up.
DIFFERENTIAL_GAP = 0.20


@dataclass(frozen=True)
class Completeness:
    """Completeness table.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``timepoint``, ``group``, ``expected``, ``observed``, ``missing`` (ints), timepoints in
        schedule order (baseline first), groups in study order.
    cutoff : str or None
        The data cut-off date (ISO) used to decide which windows had closed; None when dates were absent.
    notes : tuple of str
    """

    table: pd.DataFrame
    cutoff: str | None
    notes: tuple[str, ...] = ()


def completeness(study: pd.DataFrame) -> Completeness:
    """Count expected, observed and missing patients per scheduled timepoint and study group.

    Parameters
    ----------
    study : pandas.DataFrame
        Validated flat rows of the two study groups, unscheduled rows removed. Uses ``procedure_date``
        and ``days`` when both are present and filled in on every row.
    """
    patient_codes, patient_ids = pd.factorize(study["patient_id"])
    patients = study.iloc[np.unique(patient_codes, return_index=True)[1]]  # each patient's first row, in code order
    codes_in_data = ["baseline", *FOLLOW_UP_CODES]
    timepoint_index = study["timepoint"].map({code: i for i, code in enumerate(codes_in_data)}).to_numpy()
    seen = np.zeros((len(patient_ids), len(codes_in_data)), dtype=bool)
    seen[patient_codes, timepoint_index.astype(np.int64)] = True
    procedure = _procedure_dates(study, patients)
    notes: list[str] = []
    cutoff = None
    if not len(study):
        notes.append("there is no assessment of the study groups: nothing to count, no data cut-off")
    if procedure is None:
        if len(study):
            notes.append(
                "procedure dates or days are missing, so the data cut-off is unknown: every patient counts as "
                "expected at every timepoint reached by anyone"
            )
        due = np.ones_like(seen)
    else:
        cutoff = (procedure.to_numpy()[patient_codes] + pd.to_timedelta(study["days"].to_numpy(), "D")).max()
        closing = np.array([BY_CODE[code].last_day for code in codes_in_data], dtype="timedelta64[D]")
        due = procedure.to_numpy()[:, None] + closing[None, :] <= cutoff
        due[:, 0] = True  # the baseline is expected of everyone
    due |= seen
    groups = patients["etiology"].to_numpy()
    rows = []
    for column, code in enumerate(codes_in_data):
        listed = code == "baseline" or seen[:, column].any() or (procedure is not None and due[:, column].any())
        if not listed:
            continue
        for group in STUDY_GROUPS:
            mine = groups == group
            expected, observed = int(due[mine, column].sum()), int(seen[mine, column].sum())
            rows.append((code, group, expected, observed, expected - observed))
    table = pd.DataFrame(rows, columns=["timepoint", "group", "expected", "observed", "missing"])
    notes.extend(_capture_notes(table))
    return Completeness(table, None if cutoff is None else pd.Timestamp(cutoff).date().isoformat(), tuple(notes))


def _capture_notes(table: pd.DataFrame) -> list[str]:
    """One note per follow-up timepoint whose capture is below the bar or differs between the groups
    (a timepoint nobody was seen at is not part of this study's schedule, and is left alone)."""
    notes = []
    for code, rows in table[table["timepoint"] != "baseline"].groupby("timepoint", sort=False):
        due = rows[rows["expected"] > 0]
        if due.empty or not due["observed"].any():
            continue
        rate = due["observed"] / due["expected"]
        shown = ", ".join(f"{r.group} {r.observed} of {r.expected} ({_whole_percent(r.observed / r.expected)})" for r in due.itertuples(index=False))
        below = due.loc[(rate < CAPTURE_BAR).to_numpy(), "group"].tolist()
        if below:
            which = " and ".join(below)
            notes.append(
                f"{code}: capture of the {which} group{'s' if len(below) > 1 else ''} is below the {_whole_percent(CAPTURE_BAR)} "
                f"registries hold as their quality bar ({shown}), so the {code} estimates rest on the patients who came back"
            )
        if len(due) == 2 and abs(rate.iloc[0] - rate.iloc[1]) >= DIFFERENTIAL_GAP:
            gap = math.floor(100 * abs(rate.iloc[0] - rate.iloc[1]) + 1e-9)
            notes.append(
                f"{code}: capture differs between the groups by {gap} percentage points ({shown}): "
                "a difference between them there may come from who was lost to follow-up"
            )
    return notes


def _whole_percent(share: float) -> str:
    """Rounded down, as the tables show it: 799 of 1000 is 79%, below an 80% bar."""
    return f"{math.floor(100 * share + 1e-9)}%"


def _procedure_dates(study: pd.DataFrame, patients: pd.DataFrame) -> pd.Series | None:
    """Each patient's index procedure date, or None when dates or days are not all known."""
    if "procedure_date" not in study.columns or "days" not in study.columns or not len(study):
        return None
    dates = pd.to_datetime(patients["procedure_date"], errors="coerce", format="mixed")
    if dates.isna().any():
        return None
    return dates
