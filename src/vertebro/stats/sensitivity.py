"""The ``missing_data_sensitivity`` section of ``vertebro.analysis/1`` (issue 12).

Multiple imputation of the missing follow-up scores pooled by Rubin's rules at every follow-up
timepoint, then the delta-adjusted scenarios and tipping points at the primary and the last timepoint.
Every field that cannot be computed is None and ``reason`` (or a timepoint's ``note``) says why.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd

from ..domain.vocabulary import STUDY_GROUPS
from .imputation import (
    DELTAS,
    EXACT_FIT_NOTE,
    ITERATIONS,
    SHIFTED_GROUPS,
    TIPPING_LIMIT,
    excludes_zero,
    imputation_data,
    impute_follow_up,
    pool_differences,
    tipping_delta,
)
from .reviewer import DEFAULT_IMPUTATIONS, DEFAULT_SEED

__all__ = ["missing_data_sensitivity"]
_METHOD = (
    "multiple imputation by chained equations (Bayesian linear regression, as mice's norm method, "
    f"{ITERATIONS} iterations), ANCOVA of each completed data set, pooled by Rubin's rules with "
    "Barnard-Rubin degrees of freedom"
)
_POOLED_KEYS = (
    "estimate", "within_variance", "between_variance", "total_variance", "se", "df", "ci_low", "ci_high", "p",
    "riv", "lambda_", "fmi", "dfcom",
)  # fmt: skip


def missing_data_sensitivity(
    study: pd.DataFrame, *, primary: str, m: int = DEFAULT_IMPUTATIONS, seed: int = DEFAULT_SEED, workers: int | None = None
) -> dict[str, Any]:
    """Build the section from the validated rows of the two study groups (unscheduled rows removed).

    The difference is the pathologic coefficient of ``followup ~ etiology + baseline + age + sex``
    (osteoporotic minus pathologic improvement, as ``ancova_difference``) among the patients due at
    the timepoint, observed or imputed. A delta scenario adds ``delta`` points (a worse score) to the
    imputed follow-up scores of the shifted group after imputation; the tipping point is the smallest
    delta at which the 95% interval's verdict (excludes zero or not) changes.
    """
    data = imputation_data(study)
    section: dict[str, Any] = {
        "method": _METHOD,
        "m": m,
        "seed": seed,
        "predictors": list(data.predictor_names) + ["the other follow-up scores"],
        "reason": None,
        "timepoints": None,
        "delta_adjusted": None,
    }
    groups = set(data.etiology)
    due_missing = data.missing & data.due
    if len(data.etiology) == 0 or not data.timepoints:
        section["reason"] = "no patient of the study groups has a baseline and a follow-up score: nothing to impute"
    elif not groups >= set(STUDY_GROUPS):
        section["reason"] = "patients of both etiologies are needed for a between-group difference"
    elif not due_missing.any():
        section["reason"] = "no follow-up score of a patient due is missing: the analyses of the observed scores are complete"
    if section["reason"]:
        return section

    completed = impute_follow_up(data, m=m, seed=seed, workers=workers)
    statistics = pool_differences(data, completed)
    rows = []
    for stat in statistics:
        pooled = stat.pooled()
        note = stat.note or (None if pooled else f"{stat.timepoint}: {EXACT_FIT_NOTE}")
        row: dict[str, Any] = {"timepoint": stat.timepoint, "n": stat.n, "imputed": stat.imputed, "note": note}
        values = asdict(pooled) if pooled else {}
        row.update({("lambda" if key == "lambda_" else key): values.get(key) for key in _POOLED_KEYS})
        row["difference"] = row.pop("estimate")
        rows.append(row)
    section["timepoints"] = rows

    by_code = {stat.timepoint: stat for stat in statistics}
    chosen = [code for code in dict.fromkeys([primary, data.timepoints[-1]]) if code in by_code]
    scenarios, tipping = [], []
    for code in chosen:
        stat = by_code[code]
        for shifted in SHIFTED_GROUPS:
            for delta in DELTAS:
                pooled = stat.pooled(delta, shifted)
                scenarios.append(
                    {
                        "timepoint": code, "shifted_group": shifted, "delta": delta,
                        "difference": pooled.estimate if pooled else None,
                        "ci_low": pooled.ci_low if pooled else None,
                        "ci_high": pooled.ci_high if pooled else None,
                        "p": pooled.p if pooled else None,
                        "excludes_zero": excludes_zero(pooled) if pooled else None,
                    }
                )  # fmt: skip
            at_zero = stat.pooled(0.0, shifted)
            point = tipping_delta(stat, shifted) if at_zero else None
            note = stat.note or (None if at_zero else f"{code}: {EXACT_FIT_NOTE}")
            if at_zero and point is None:
                note = f"the conclusion does not change for any delta up to {TIPPING_LIMIT:g} points"
            tipping.append(
                {
                    "timepoint": code, "shifted_group": shifted,
                    "excludes_zero_at_zero": excludes_zero(at_zero) if at_zero else None,
                    "delta": point, "note": note,
                }
            )  # fmt: skip
    notes = []
    if primary not in by_code:
        notes.append(f"nobody was seen at the primary timepoint {primary}: the scenarios use the last timepoint only")
    section["delta_adjusted"] = {
        "deltas": list(DELTAS),
        "scenarios": scenarios,
        "tipping_points": tipping,
        "notes": notes,
    }
    return section

