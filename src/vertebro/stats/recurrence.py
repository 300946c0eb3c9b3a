"""Time to recurrent back pain after the procedure: Kaplan-Meier medians, log-rank test and Cox model.

The event is the first follow-up at which recurrent pain is recorded; a patient without one is censored
at the last follow-up. Groups are the two study etiologies; the hazard ratio is pathologic versus
osteoporotic (above 1: pathologic fractures recur sooner).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.vocabulary import STUDY_GROUPS

__all__ = ["Recurrence", "compare_recurrence", "km_median", "time_to_recurrence"]

_OSTEOPOROTIC, _PATHOLOGIC = STUDY_GROUPS
#: R's ``survival`` treats a survival estimate within this of 0.5 as exactly one half.
_MEDIAN_TOLERANCE = np.sqrt(np.finfo(float).eps)
#: lifelines' default Newton-Raphson stopping rule (1e-7) leaves hazard ratios off R's by up to ~2e-4
#: relative; this one converges to R's ``coxph`` (whose own tolerance is 1e-9 on the log-likelihood).
_COX_PRECISION = 1e-12


@dataclass(frozen=True)
class Recurrence:
    """Recurrence section of the contract.

    Attributes
    ----------
    patients_osteoporotic, patients_pathologic : int
        Patients with at least one follow-up row.
    events_osteoporotic, events_pathologic : int
        Patients whose recurrent pain was recorded.
    median_days_osteoporotic, median_days_pathologic : float or None
        Kaplan-Meier median time to recurrence in days; None when the curve never falls to 0.5.
    logrank_p : float or None
        Two-sided log-rank (Mantel-Haenszel) test, 1 degree of freedom.
    hazard_ratio, hr_ci_low, hr_ci_high : float or None
        Cox proportional hazards, pathologic versus osteoporotic, Efron ties, Wald 95% interval.
    notes : tuple of str
    """

    patients_osteoporotic: int
    patients_pathologic: int
    events_osteoporotic: int
    events_pathologic: int
    median_days_osteoporotic: float | None
    median_days_pathologic: float | None
    logrank_p: float | None
    hazard_ratio: float | None
    hr_ci_low: float | None
    hr_ci_high: float | None
    notes: tuple[str, ...] = ()


def time_to_recurrence(followups: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: days to the first recorded recurrent pain, else to the last follow-up.

    Parameters
    ----------
    followups : pandas.DataFrame
        Follow-up rows only (no baseline, no unscheduled), columns ``patient_id``, ``etiology``,
        ``days``, ``recurrent_pain`` (1.0, 0.0 or NaN when not recorded; NaN is not an event).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, ``etiology``, ``days`` (event or censoring day, int) and ``event`` (0/1),
        in order of first appearance of the patient.
    """
    patient, patients = pd.factorize(followups["patient_id"])  # codes in order of first appearance
    days = pd.Series(followups["days"].to_numpy())
    is_event = (followups["recurrent_pain"] == 1).to_numpy()
    last_day = days.groupby(patient).max()
    first_event_day = days[is_event].groupby(patient[is_event]).min()
    first_row = np.unique(patient, return_index=True)[1]
    result = pd.DataFrame(
        {
            "patient_id": patients,
            "etiology": followups["etiology"].to_numpy()[first_row],
            "days": last_day.to_numpy(),
            "event": np.zeros(len(patients), dtype=np.int64),
        }
    )
    result.loc[first_event_day.index, "days"] = first_event_day.to_numpy()
    result.loc[first_event_day.index, "event"] = 1
    return result


def km_median(durations: np.ndarray, events: np.ndarray) -> float | None:
    """Kaplan-Meier median with R ``survival``'s convention.

    The median is the first time the estimate is at or below 0.5; when it is exactly 0.5 (within
    ``sqrt(eps)``) on a flat stretch, the midpoint between that time and the next drop (as
    ``print.survfit``). None when the estimate never reaches 0.5.
    """
    from lifelines import KaplanMeierFitter

    if len(durations) == 0 or not np.any(events):
        return None
    fitter = KaplanMeierFitter().fit(durations, events)
    curve = fitter.survival_function_.iloc[:, 0]
    times, survival = curve.index.to_numpy(dtype=float), curve.to_numpy()
    keep = survival < 0.5 + _MEDIAN_TOLERANCE
    if not keep.any():
        return None
    times, survival = times[keep], survival[keep]
    if abs(survival[0] - 0.5) < _MEDIAN_TOLERANCE and np.any(survival < survival[0]):
        return float((times[0] + times[np.argmax(survival < survival[0])]) / 2)
    return float(times[0])


def compare_recurrence(times: pd.DataFrame) -> Recurrence:
    """Kaplan-Meier medians per group, log-rank test and Cox hazard ratio (pathologic vs osteoporotic).

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`time_to_recurrence` restricted to the two study groups.

    Notes
    -----
    Kaplan-Meier (1958) product-limit estimate; log-rank test of Mantel (1966) with the
    hypergeometric variance, as R's ``survdiff``; Cox (1972) partial likelihood with Efron's (1977)
    approximation for tied event times and the Wald interval ``exp(b -/+ 1.96 se(b))``, as R's
    ``coxph(ties = "efron")``.

    References
    ----------
    Kaplan EL, Meier P (1958). JASA 53:457-481. Mantel N (1966). Cancer Chemother Rep 50:163-170.
    Cox DR (1972). JRSS B 34:187-220. Efron B (1977). JASA 72:557-565.
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceWarning
    from lifelines.statistics import logrank_test

    notes: list[str] = []
    by_group = {group: times[times["etiology"] == group] for group in STUDY_GROUPS}
    counts = {group: len(rows) for group, rows in by_group.items()}
    events = {group: int(rows["event"].sum()) for group, rows in by_group.items()}
    medians = {}
    for group, rows in by_group.items():
        medians[group] = km_median(rows["days"].to_numpy(float), rows["event"].to_numpy())
        if counts[group] == 0:
            notes.append(f"no {group} patient has a follow-up: no Kaplan-Meier median")
        elif medians[group] is None:
            notes.append(
                f"median_days_{group} is null: the {group} Kaplan-Meier curve never falls to 0.5 "
                f"({events[group]} recurrences among {counts[group]} patients), so the median is not reached"
            )

    logrank_p = hazard_ratio = low = high = None
    if counts[_OSTEOPOROTIC] == 0 or counts[_PATHOLOGIC] == 0:
        notes.append("the log-rank test and hazard ratio need follow-up in both groups")
    elif events[_OSTEOPOROTIC] + events[_PATHOLOGIC] == 0:
        notes.append("no recurrence in either group: the log-rank test and hazard ratio do not exist")
    else:
        a, b = by_group[_OSTEOPOROTIC], by_group[_PATHOLOGIC]
        logrank_p = float(logrank_test(a["days"], b["days"], a["event"], b["event"]).p_value)
        no_events = [group for group in STUDY_GROUPS if events[group] == 0]
        if no_events:
            notes.append(
                f"no recurrence in the {no_events[0]} group: the hazard ratio is 0 or infinite and is not reported"
            )
        else:
            data = pd.DataFrame(
                {
                    "days": times["days"].to_numpy(float),
                    "event": times["event"].to_numpy(),
                    "pathologic": (times["etiology"] == _PATHOLOGIC).to_numpy(float),
                }
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                fitter = CoxPHFitter().fit(
                    data, duration_col="days", event_col="event", fit_options={"precision": _COX_PRECISION}
                )
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                notes.append("the Cox model did not converge (the groups are separated): no hazard ratio")
            else:
                beta = float(fitter.params_["pathologic"])
                se = float(fitter.standard_errors_["pathologic"])
                z = 1.959963984540054
                hazard_ratio, low, high = np.exp(beta), np.exp(beta - z * se), np.exp(beta + z * se)
    return Recurrence(
        patients_osteoporotic=counts[_OSTEOPOROTIC],
        patients_pathologic=counts[_PATHOLOGIC],
        events_osteoporotic=events[_OSTEOPOROTIC],
        events_pathologic=events[_PATHOLOGIC],
        median_days_osteoporotic=medians[_OSTEOPOROTIC],
        median_days_pathologic=medians[_PATHOLOGIC],
        logrank_p=logrank_p,
        hazard_ratio=None if hazard_ratio is None else float(hazard_ratio),
        hr_ci_low=None if low is None else float(low),
        hr_ci_high=None if high is None else float(high),
        notes=tuple(notes),
    )
