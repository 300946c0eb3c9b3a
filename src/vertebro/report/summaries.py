"""Descriptive summaries the figures need beyond the analysis contract (pure pandas/scipy).

The analysis dict (``vertebro.analysis/1``) holds the tests; the report also draws the data
themselves: mean pain at every timepoint, each patient's improvement, each patient's time to
recurrent pain. Only the two study groups are summarised.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..domain.timepoints import SCHEDULE, UNSCHEDULED
from ..domain.vocabulary import STUDY_GROUPS
from ..stats.recurrence import time_to_recurrence

#: Columns of :func:`pain_by_timepoint`.
PAIN_COLUMNS = ("timepoint", "group", "n", "mean", "sd", "ci_low", "ci_high")


def _study_rows(df: pd.DataFrame) -> pd.DataFrame:
    rows = df[df["etiology"].isin(STUDY_GROUPS)].copy()
    rows["vps"] = pd.to_numeric(rows["vps"], errors="coerce").astype("float64")
    return rows


def pain_by_timepoint(df: pd.DataFrame) -> pd.DataFrame:
    """Mean pain score per scheduled timepoint and group, with a t-based 95% CI.

    Every assessment at the timepoint counts (patients lost later still inform earlier points).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIN_COLUMNS`, timepoints in schedule order (baseline first), only
        timepoints somebody reached. ``ci_low``/``ci_high`` are
        :math:`\\bar x \\pm t_{0.975,\\,n-1}\\, s/\\sqrt n` (R's ``t.test(x)$conf.int``); NaN when n < 2.
    """
    rows = _study_rows(df)
    out = []
    for timepoint in SCHEDULE:
        at = rows[rows["timepoint"] == timepoint.code]
        if at.empty:
            continue
        for group in STUDY_GROUPS:
            scores = at.loc[at["etiology"] == group, "vps"].dropna().to_numpy(dtype=float)
            out.append((timepoint.code, group, *_mean_ci(scores)))
    return pd.DataFrame(out, columns=list(PAIN_COLUMNS))


def _mean_ci(values: np.ndarray) -> tuple[int, float, float, float, float]:
    n = len(values)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def improvement_at(df: pd.DataFrame, timepoint: str) -> pd.DataFrame:
    """Each patient's improvement (baseline − follow-up score) at ``timepoint``.

    Returns
    -------
    pandas.DataFrame
        ``patient_id, group, baseline, followup, improvement``: patients with both a baseline and
        a ``timepoint`` score (the same patients the contract's comparison uses).
    """
    rows = _study_rows(df)
    baseline = rows[rows["timepoint"] == "baseline"]
    if "days" in baseline:
        baseline = baseline.sort_values("days", kind="stable")
    baseline = baseline.groupby("patient_id", sort=False).agg(group=("etiology", "first"), baseline=("vps", "last"))
    followup = rows[rows["timepoint"] == timepoint].groupby("patient_id", sort=False)["vps"].first()
    joined = baseline.join(followup.rename("followup"), how="inner").dropna(subset=["baseline", "followup"])
    joined["improvement"] = joined["baseline"] - joined["followup"]
    return joined.reset_index()[["patient_id", "group", "baseline", "followup", "improvement"]]


def recurrence_times(df: pd.DataFrame) -> pd.DataFrame | None:
    """Time to recurrent back pain per patient, exactly as the analysis defines it.

    The rows are the scheduled follow-ups of the two study groups (no baseline, no unscheduled
    rows, none without ``days``); :func:`vertebro.stats.recurrence.time_to_recurrence` turns them
    into one row per patient, so the curves drawn are the curves the analysis tested: the event is
    the first follow-up with ``recurrent_pain = 1``, else the patient is censored at the last one.

    Returns
    -------
    pandas.DataFrame or None
        ``patient_id, group, days, event`` (event 1/0); ``None`` when the input has no ``days`` or
        ``recurrent_pain`` column.
    """
    if "days" not in df or "recurrent_pain" not in df:
        return None
    rows = _study_rows(df)
    rows = rows[~rows["timepoint"].isin(("baseline", UNSCHEDULED))].copy()
    # float64, not the registry's nullable Int64: a missing flag must compare False, not NA.
    rows["days"] = pd.to_numeric(rows["days"], errors="coerce").astype("float64")
    rows["recurrent_pain"] = pd.to_numeric(rows["recurrent_pain"], errors="coerce").astype("float64")
    rows = rows.dropna(subset=["days"])
    times = time_to_recurrence(rows[["patient_id", "etiology", "days", "recurrent_pain"]])
    times["days"] = times["days"].astype("float64")
    return times.rename(columns={"etiology": "group"})[["patient_id", "group", "days", "event"]]


def at_risk(times: pd.DataFrame | None, days: list[float]) -> dict[str, list[int]]:
    """Patients of each group still at risk (time ≥ day) at each of ``days``."""
    if times is None:
        return {}
    return {
        group: [int((times.loc[times["group"] == group, "days"] >= day).sum()) for day in days]
        for group in STUDY_GROUPS
    }


#: Columns of :func:`scores_by_channel`.
CHANNEL_COLUMNS = ("timepoint", "n", "by_patient", "by_staff", "patient_share", "mean_patient", "mean_staff")


def scores_by_channel(df: pd.DataFrame) -> pd.DataFrame | None:
    """Follow-up scores by channel (issue 9): who gave each score, per scheduled follow-up timepoint.

    Returns
    -------
    pandas.DataFrame or None
        None when the rows carry no ``source`` column. Otherwise one row per follow-up timepoint that
        has scores (schedule order), columns :data:`CHANNEL_COLUMNS`: ``n`` scores; ``by_patient``
        (source ``patient``: answered at home through an invitation) and ``by_staff`` (every other
        source: staff, import, FHIR, API); ``patient_share`` = by_patient / n; ``mean_patient`` and
        ``mean_staff`` the mean 0–10 score of each channel (NaN without scores). Unrounded.
    """
    if "source" not in df.columns:
        return None
    rows = _study_rows(df)
    rows = rows[~rows["timepoint"].isin(("baseline", UNSCHEDULED))]
    out = []
    for tp in SCHEDULE:
        at = rows[rows["timepoint"] == tp.code]
        if at.empty:
            continue
        patient = at["source"] == "patient"
        out.append(
            {
                "timepoint": tp.code,
                "n": len(at),
                "by_patient": int(patient.sum()),
                "by_staff": int((~patient).sum()),
                "patient_share": float(patient.mean()),
                "mean_patient": float(at.loc[patient, "vps"].mean()) if patient.any() else math.nan,
                "mean_staff": float(at.loc[~patient, "vps"].mean()) if (~patient).any() else math.nan,
            }
        )
    return pd.DataFrame(out, columns=list(CHANNEL_COLUMNS))
