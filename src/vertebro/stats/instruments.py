"""The ``instruments`` section of the ``vertebro.analysis/1`` contract: each measure analysed like pain.

For every measure of :data:`vertebro.domain.instruments.MEASURES` the section holds the same
per-timepoint structure as the pain analysis — within-group change from baseline (paired t, t
interval, Wilcoxon signed-rank), the osteoporotic-minus-pathologic difference (Welch, Mann-Whitney,
ANCOVA adjusted for baseline, age and sex), responders at the measure's MCID (Newcombe interval,
Fisher's exact test) — and a random-intercept mixed model over all follow-ups.

Direction of improvement: every change is oriented so that a positive **improvement is better**,
whatever the measure's direction. For a measure where lower is better (RDQ, ODI, MME) improvement =
baseline − follow-up; where higher is better (EQ-5D index and VAS) improvement = follow-up − baseline.
The models are fitted on the oriented score (the score times −1 when higher is better), so every
difference, ANCOVA and mixed-model estimate is osteoporotic minus pathologic *improvement*: positive
means the osteoporotic group improved more. Means of scores (``baseline_mean``, ``followup_mean``) are
reported on the measure's own scale. A responder improved by at least the MCID.

Covariates (etiology, sex, age) come from the pain flat frame, one per patient. A measure nobody has
scores for gives a section with a ``note`` and empty timepoints, never an error.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ..domain.instruments import INSTRUMENT_OF_MEASURE, MEASURES, Measure
from ..domain.timepoints import FOLLOW_UP_CODES, UNSCHEDULED
from ..domain.vocabulary import STUDY_GROUPS
from .compare import ancova, rank_sum_test, responder_difference, welch_test
from .longitudinal import etiology_mixed_model
from .paired import RESPONDER_SLACK, paired_summary

__all__ = ["INSTRUMENT_GROUP_KEYS", "analyze_instruments", "instrument_section"]

_OSTEOPOROTIC, _PATHOLOGIC = STUDY_GROUPS
#: Per-group keys of each timepoint (pain's keys, responders at the MCID instead of 30%/50%).
INSTRUMENT_GROUP_KEYS = (
    "n", "baseline_mean", "followup_mean", "improvement_mean", "improvement_sd", "ci_low", "ci_high",
    "paired_t_p", "wilcoxon_p", "wilcoxon_method", "responders_mcid",
)  # fmt: skip
NO_INPUT_NOTE = "no instrument scores were given to the analysis (vertebro analyze --instruments FILE)"


def analyze_instruments(scores: pd.DataFrame | None, flat: pd.DataFrame, warnings: list[str]) -> dict[str, Any]:
    """One section per measure, keyed by measure code, in :data:`MEASURES` order.

    Parameters
    ----------
    scores : pandas.DataFrame or None
        The validated score frame (:func:`vertebro.stats.instrument_scores.validate_scores`); None when
        the analysis was given no instrument data.
    flat : pandas.DataFrame
        The validated pain flat frame: ``patient_id``, ``etiology``, ``sex``, ``age``.
    warnings : list of str
        Notes are appended here, each prefixed ``instruments.<measure>:``.
    """
    if scores is None:
        return {code: _empty_section(measure, NO_INPUT_NOTE) for code, measure in MEASURES.items()}
    patients = flat.drop_duplicates("patient_id").set_index("patient_id")[["etiology", "sex", "age"]]
    unknown = sorted(set(scores["patient_id"]) - set(patients.index))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        warnings.append(f"instruments: {len(unknown)} patients have instrument scores but no pain rows (left out): {shown}")
    joined = scores.join(patients, on="patient_id", how="inner")
    unscheduled = int((joined["timepoint"] == UNSCHEDULED).sum())
    if unscheduled:
        warnings.append(f"instruments: {unscheduled} unscheduled instrument scores ignored")
    study = joined[joined["etiology"].isin(STUDY_GROUPS) & (joined["timepoint"] != UNSCHEDULED)]
    by_measure = dict(tuple(study.groupby("measure", sort=False)))
    sections = {}
    for code, measure in MEASURES.items():
        notes: list[str] = []
        sections[code] = instrument_section(by_measure.get(code, study.iloc[:0]), measure, notes)
        warnings.extend(f"instruments.{code}: {note}" for note in notes)
    return sections


def instrument_section(rows: pd.DataFrame, measure: Measure, notes: list[str]) -> dict[str, Any]:
    """The section of one measure from its study rows (``patient_id, timepoint, score, etiology, sex, age``)."""
    if rows.empty:
        return _empty_section(measure, f"no {measure.label} scores in the input")
    sign = -1.0 if measure.higher_is_better else 1.0
    rows = rows.assign(oriented=sign * rows["score"].to_numpy(float))
    baseline = rows.loc[rows["timepoint"] == "baseline"].set_index("patient_id")[["score", "oriented"]]
    baseline.columns = ["baseline_score", "baseline"]
    followups = rows[rows["timepoint"] != "baseline"]
    paired = followups.join(baseline, on="patient_id", how="inner")
    if baseline.empty:
        notes.append("no baseline score: no change, comparison or mixed model")
    present = [code for code in FOLLOW_UP_CODES if (followups["timepoint"] == code).any()]
    timepoints = [_timepoint(paired[paired["timepoint"] == code], code, measure, notes) for code in present]
    mixed = etiology_mixed_model(paired.assign(vps=paired["oriented"]))
    notes.extend(f"mixed model: {note}" for note in mixed.notes)
    section = _empty_section(measure, None)
    section.update(
        timepoints=timepoints,
        mixed_model={key: value for key, value in asdict(mixed).items() if key != "notes"},
        patients=int(rows["patient_id"].nunique()),
    )
    return section


def _empty_section(measure: Measure, note: str | None) -> dict[str, Any]:
    return {
        "instrument": INSTRUMENT_OF_MEASURE[measure.code],
        "measure": measure.code,
        "label": measure.label,
        "unit": measure.unit,
        "direction": measure.direction,
        "minimum": measure.minimum,
        "maximum": measure.maximum,
        "mcid": measure.mcid,
        "mcid_source": measure.mcid_source,
        "patients": 0,
        "timepoints": [],
        "mixed_model": None,
        "note": note,
    }


def _timepoint(rows: pd.DataFrame, code: str, measure: Measure, notes: list[str]) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    improvements = {}
    responders = {}
    for group in STUDY_GROUPS:
        mine = rows[rows["etiology"] == group]
        summary = paired_summary(mine["baseline"].to_numpy(float), mine["oriented"].to_numpy(float))
        notes.extend(f"{code} {group}: {note}" for note in summary.notes)
        improvement = mine["baseline"].to_numpy(float) - mine["oriented"].to_numpy(float)
        improvements[group] = improvement
        block = {key: getattr(summary, key) for key in INSTRUMENT_GROUP_KEYS if key != "responders_mcid"}
        block["baseline_mean"] = _mean(mine["baseline_score"])
        block["followup_mean"] = _mean(mine["score"])
        responders[group] = None if measure.mcid is None else int(np.sum(improvement >= measure.mcid - RESPONDER_SLACK))
        block["responders_mcid"] = responders[group]
        groups[group] = block
    x, y = improvements[_OSTEOPOROTIC], improvements[_PATHOLOGIC]
    welch, rank_sum = welch_test(x, y), rank_sum_test(x, y)
    adjusted = ancova(rows.assign(followup=rows["oriented"]))
    comparison = {
        "difference": welch.difference, "ci_low": welch.ci_low, "ci_high": welch.ci_high, "welch_p": welch.p,
        "welch_df": welch.df, "mann_whitney_p": rank_sum.p, "mann_whitney_method": rank_sum.method,
        "ancova_difference": adjusted.difference, "ancova_ci_low": adjusted.ci_low,
        "ancova_ci_high": adjusted.ci_high, "ancova_p": adjusted.p, "ancova_n": adjusted.n,
    }  # fmt: skip
    extra_notes = [*welch.notes, *rank_sum.notes, *adjusted.notes]
    responder_keys = ("responders_mcid_difference", "responders_mcid_ci_low", "responders_mcid_ci_high", "responders_mcid_fisher_p")
    if measure.mcid is None:
        comparison.update(dict.fromkeys(responder_keys))
    elif not (groups[_OSTEOPOROTIC]["n"] and groups[_PATHOLOGIC]["n"]):
        comparison.update(dict.fromkeys(responder_keys))
        extra_notes.append("responders at the MCID need patients with both scores in both groups")
    else:
        n1, n2 = groups[_OSTEOPOROTIC]["n"], groups[_PATHOLOGIC]["n"]
        result = responder_difference(responders[_OSTEOPOROTIC], n1, responders[_PATHOLOGIC], n2)
        comparison.update(zip(responder_keys, (result.difference, result.ci_low, result.ci_high, result.fisher_p)))
    notes.extend(f"{code} comparison: {note}" for note in extra_notes)
    return {"timepoint": code, "groups": groups, "comparison": comparison}


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None
