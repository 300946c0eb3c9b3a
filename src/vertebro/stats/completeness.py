"""Follow-up completeness: per timepoint and group, how many patients were due, seen and missed.

A patient is *expected* at a timepoint once its window has closed by the data cut-off (the latest
assessment date in the input), or when they were seen there anyway; the baseline is expected of everyone.
Without procedure dates and days (a de-identified export) the cut-off cannot be known, and every patient
of the group counts as expected at every timepoint that anyone reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.timepoints import BY_CODE, FOLLOW_UP_CODES
from ..domain.vocabulary import STUDY_GROUPS

__all__ = ["Completeness", "completeness"]


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
    patients = study.drop_duplicates("patient_id").set_index("patient_id")
    seen = study.groupby("timepoint")["patient_id"].agg(set).to_dict()
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
        codes = ["baseline", *(code for code in FOLLOW_UP_CODES if code in seen)]
    else:
        cutoff = (procedure.loc[study["patient_id"]].to_numpy() + pd.to_timedelta(study["days"].to_numpy(), "D")).max()
        codes = ["baseline"]
        for code in FOLLOW_UP_CODES:
            closed = procedure + pd.Timedelta(days=BY_CODE[code].last_day) <= cutoff
            if code in seen or closed.any():
                codes.append(code)

    rows = []
    for code in codes:
        observed_ids = seen.get(code, set())
        if procedure is None or code == "baseline":
            due = pd.Series(True, index=patients.index)
        else:
            due = procedure + pd.Timedelta(days=BY_CODE[code].last_day) <= cutoff
        due |= patients.index.isin(list(observed_ids))
        for group in STUDY_GROUPS:
            in_group = (patients["etiology"] == group).to_numpy()
            expected = int(np.sum(due.to_numpy() & in_group))
            observed = int(np.sum(patients.index[in_group].isin(list(observed_ids))))
            rows.append((code, group, expected, observed, expected - observed))
    table = pd.DataFrame(rows, columns=["timepoint", "group", "expected", "observed", "missing"])
    return Completeness(table, None if cutoff is None else pd.Timestamp(cutoff).date().isoformat(), tuple(notes))


def _procedure_dates(study: pd.DataFrame, patients: pd.DataFrame) -> pd.Series | None:
    """Each patient's index procedure date, or None when dates or days are not all known."""
    if "procedure_date" not in study.columns or "days" not in study.columns or not len(study):
        return None
    dates = pd.to_datetime(patients["procedure_date"], errors="coerce", format="mixed")
    if dates.isna().any():
        return None
    return dates
