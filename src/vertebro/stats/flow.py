"""The STROBE-style flow of patients: registered, treated, by etiology, with a baseline, assessed at each
timepoint, and why the others were not (issue 12).

STROBE item 13 asks for the number of participants at each stage and the reasons for non-participation
(von Elm et al., *Lancet* 2007;370:1453-7; a flow diagram is recommended). Here a patient is *registered*
when a row names them, *treated* when their index procedure date is known, and *assessed* at a
timepoint when a pain score lies in that window. A patient without a score at a timepoint is counted
under the first reason that applies:

1. the reason recorded for that patient and timepoint (the flat column ``missing_reason``, a code of
   :data:`vertebro.domain.vocabulary.MISSING_REASON`, on a row without a score);
2. ``died`` or ``withdrawn`` recorded at an earlier timepoint: nobody is assessed after either;
3. ``not_yet_due``: the window had not closed by the data cut-off (the latest assessment date);
4. ``window_missed``: the window closed without a score and without a reason;
5. ``unknown``: without procedure dates and days the cut-off is unknown, so 3 and 4 cannot be told
   apart; those two counts are then null and a note says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..domain.flat import MISSING_REASON_COLUMN
from ..domain.timepoints import BY_CODE, FOLLOW_UP_CODES
from ..domain.vocabulary import ETIOLOGY, MISSING_REASON, STUDY_GROUPS

__all__ = ["FLOW_REASONS", "Flow", "patient_flow", "split_missing_rows"]

NOT_YET_DUE, UNKNOWN = "not_yet_due", "unknown"
#: Reason keys of every timepoint's ``missing`` counts, in display order.
FLOW_REASONS: tuple[str, ...] = (NOT_YET_DUE, *MISSING_REASON.codes, UNKNOWN)
#: Reasons that hold for every later timepoint too.
_FINAL = ("died", "withdrawn")
_CODES = ("baseline", *FOLLOW_UP_CODES)


@dataclass(frozen=True)
class Flow:
    """The flow of patients.

    Attributes
    ----------
    registered : int
        Patients named by any row.
    treated : int or None
        Patients whose index procedure date is known; None without a ``procedure_date`` column.
    by_etiology : dict of str to int
        Registered patients per etiology code (every code of the vocabulary).
    groups : dict
        Per study group: ``patients``, then ``timepoints``, a list (baseline first, schedule order) of
        ``{"timepoint", "assessed", "not_assessed", "missing": {reason: count}}`` with the reasons of
        :data:`FLOW_REASONS` (``not_yet_due`` and ``window_missed`` are None when the cut-off is unknown).
    cutoff : str or None
        The data cut-off (ISO date) the windows were judged against.
    notes : tuple of str
        Why a count is null, and what the counts rest on.
    """

    registered: int
    treated: int | None
    by_etiology: dict[str, int]
    groups: dict[str, dict[str, Any]]
    cutoff: str | None
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "registered": self.registered,
            "treated": self.treated,
            "by_etiology": dict(self.by_etiology),
            "groups": self.groups,
            "data_cutoff": self.cutoff,
            "reasons": list(FLOW_REASONS),
        }


def split_missing_rows(flat: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scored, reasons)``: the rows with a pain score, and the rows that only say why one is missing
    (a ``missing_reason`` and no score). Without the column every row is a scored row."""
    if MISSING_REASON_COLUMN not in flat.columns:
        return flat, flat.iloc[0:0]
    reason = flat[MISSING_REASON_COLUMN].notna().to_numpy() & (flat[MISSING_REASON_COLUMN].astype(str) != "").to_numpy()
    if not reason.any():
        return flat, flat.iloc[0:0]
    return flat.loc[~reason], flat.loc[reason]


def patient_flow(scored: pd.DataFrame, reasons: pd.DataFrame | None = None) -> Flow:
    """Count the patients at each stage (see the module docstring for the rules).

    Parameters
    ----------
    scored : pandas.DataFrame
        Validated flat rows with a score (``patient_id``, ``etiology``, ``timepoint``; ``procedure_date``
        and ``days`` when known), every etiology, unscheduled rows included (they count as registered).
    reasons : pandas.DataFrame, optional
        Validated flat rows without a score and with ``missing_reason`` (:func:`split_missing_rows`).

    Returns
    -------
    Flow
    """
    reasons = scored.iloc[0:0] if reasons is None else reasons
    every = pd.concat([scored, reasons], ignore_index=True) if len(reasons) else scored
    codes, patient_ids = pd.factorize(every["patient_id"])
    first = np.unique(codes, return_index=True)[1]
    patients = every.iloc[first]
    etiology = patients["etiology"].astype(str).to_numpy()
    notes: list[str] = []
    by_etiology = {code: int((etiology == code).sum()) for code in ETIOLOGY.codes}

    procedure = _procedure_dates(every, first)
    treated = None
    if procedure is None:
        notes.append("there is no procedure_date column: the number treated is null")
    else:
        treated = int(procedure.notna().sum())

    n_scored = len(scored)
    slot = pd.Series(every["timepoint"].astype(str).to_numpy()).map({c: i for i, c in enumerate(_CODES)}).to_numpy()
    scheduled = ~np.isnan(slot)
    slot = np.where(scheduled, slot, 0).astype(np.int64)
    seen = np.zeros((len(patient_ids), len(_CODES)), dtype=bool)
    is_score = np.arange(len(every)) < n_scored
    seen[codes[scheduled & is_score], slot[scheduled & is_score]] = True
    recorded = np.full((len(patient_ids), len(_CODES)), -1, dtype=np.int64)
    if len(reasons):
        reason_index = pd.Series(every[MISSING_REASON_COLUMN].astype(str).to_numpy()).map(
            {c: i for i, c in enumerate(MISSING_REASON.codes)}
        ).to_numpy()
        mine = scheduled & ~is_score & ~np.isnan(reason_index)
        recorded[codes[mine], slot[mine]] = reason_index[mine].astype(np.int64)
    recorded = _carry_final_reasons(recorded)

    cutoff, due = _due(scored, codes[:n_scored], procedure)
    if due is None and len(every):
        notes.append(
            "procedure dates or days are missing, so the data cut-off is unknown: not_yet_due and "
            "window_missed are null, and a missing score without a recorded reason counts as unknown"
        )
    listed = seen.any(axis=0) | (recorded >= 0).any(axis=0)
    if due is not None:
        listed |= due.any(axis=0)
    listed[0] = True
    groups = {}
    for group in STUDY_GROUPS:
        mine = etiology == group
        rows = [_timepoint_counts(code, seen[mine, i], recorded[mine, i], None if due is None else due[mine, i])
                for i, code in enumerate(_CODES) if listed[i]]
        groups[group] = {"patients": int(mine.sum()), "timepoints": rows}
        if not mine.any():
            notes.append(f"there is no {group} patient: every {group} count is 0")
    return Flow(len(patient_ids), treated, by_etiology, groups, cutoff, tuple(notes))


def _timepoint_counts(code: str, seen: np.ndarray, recorded: np.ndarray, due: np.ndarray | None) -> dict[str, Any]:
    missing: dict[str, int | None] = {}
    unscored = ~seen
    known = recorded >= 0
    for index, reason in enumerate(MISSING_REASON.codes):
        missing[reason] = int((unscored & (recorded == index)).sum())
    rest = unscored & ~known
    if due is None:
        missing[NOT_YET_DUE] = None
        missing["window_missed"] = None
        missing[UNKNOWN] = int(rest.sum())
    else:
        missing[NOT_YET_DUE] = int((rest & ~due).sum())
        missing["window_missed"] += int((rest & due).sum())
        missing[UNKNOWN] = 0
    return {
        "timepoint": code,
        "assessed": int(seen.sum()),
        "not_assessed": int(unscored.sum()),
        "missing": {reason: missing[reason] for reason in FLOW_REASONS},
    }


def _carry_final_reasons(recorded: np.ndarray) -> np.ndarray:
    """A death or withdrawal recorded at one timepoint holds at every later one without its own reason."""
    final = np.isin(recorded, [MISSING_REASON.codes.index(code) for code in _FINAL])
    if not final.any():
        return recorded
    carried = np.where(final, recorded, -1)
    carried = np.maximum.accumulate(np.where(carried >= 0, np.arange(recorded.shape[1]), -1), axis=1)
    source = np.take_along_axis(recorded, np.maximum(carried, 0), axis=1)
    return np.where((recorded < 0) & (carried >= 0), source, recorded)


def _procedure_dates(every: pd.DataFrame, first: np.ndarray) -> pd.Series | None:
    if "procedure_date" not in every.columns:
        return None
    return pd.to_datetime(every["procedure_date"].iloc[first], errors="coerce", format="mixed").reset_index(drop=True)


def _due(
    scored: pd.DataFrame, codes: np.ndarray, procedure: pd.Series | None
) -> tuple[str | None, np.ndarray | None]:
    """The data cut-off (the latest scored assessment) and, per patient and timepoint, whether the window
    had closed by then; (None, None) when a procedure date or a score's days is unknown (the cut-off
    would be a guess)."""
    if procedure is None or "days" not in scored.columns or not len(scored) or procedure.isna().any():
        return None, None
    days = pd.to_numeric(scored["days"], errors="coerce")
    if days.isna().any():
        return None, None
    cutoff = (procedure.to_numpy()[codes] + pd.to_timedelta(days.to_numpy(), "D")).max()
    closing = np.array([BY_CODE[code].last_day for code in _CODES], dtype="timedelta64[D]")
    due = procedure.to_numpy()[:, None] + closing[None, :] <= cutoff
    return pd.Timestamp(cutoff).date().isoformat(), due
