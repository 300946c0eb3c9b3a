"""The signs the issue fixes, checked on data whose answer is known by construction (not against R).

Osteoporotic fractures improve two points more than pathologic ones, and pathologic patients have
recurrent pain sooner. The contract must then say: every difference (raw, ANCOVA, mixed model,
responders) is positive, because it is osteoporotic minus pathologic improvement; the hazard ratio,
pathologic versus osteoporotic, is above 1. The R comparisons (test_analysis_vs_r.py) check the values;
this checks that the R scripts and the code read the coefficients the way the issue states. The
tolerance on the recovered 2 points is 0.5 (the noise SD is 0.7 on 40 patients per group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vertebro.stats.analysis import analyze

DAYS = {"baseline": -1, "post": 1, "1m": 30, "3m": 90}
EXTRA_IMPROVEMENT_OSTEOPOROTIC = 2.0


def known_answer_cohort() -> pd.DataFrame:
    rng = np.random.default_rng(1234)
    rows = []
    for number in range(80):
        etiology = "osteoporotic" if number % 2 else "pathologic"
        baseline = 5 + number % 5
        improvement = 3.0 + (EXTRA_IMPROVEMENT_OSTEOPOROTIC if etiology == "osteoporotic" else 0.0)
        # Pathologic patients recur at 1 month (most of them), osteoporotic ones at 3 months (a few).
        recur_at = "1m" if etiology == "pathologic" and number % 8 else "3m" if number % 10 == 1 else None
        for timepoint, days in DAYS.items():
            score = baseline if timepoint == "baseline" else baseline - improvement + rng.normal(0, 0.7)
            rows.append({
                "patient_id": f"K{number:03d}", "sex": "F" if number % 3 else "M", "age": 60 + number % 25,
                "etiology": etiology, "timepoint": timepoint, "days": days,
                "vps": float(np.clip(round(score, 1), 0, 10)),
                "recurrent_pain": None if timepoint == "baseline" else int(timepoint == recur_at),
            })  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result() -> dict:
    return analyze(known_answer_cohort())


def test_every_between_group_difference_is_osteoporotic_minus_pathologic(result):
    for entry in result["timepoints"]:
        comparison = entry["comparison"]
        assert comparison["difference"] == pytest.approx(EXTRA_IMPROVEMENT_OSTEOPOROTIC, abs=0.5)
        assert comparison["ci_low"] > 0
        assert comparison["ancova_difference"] == pytest.approx(EXTRA_IMPROVEMENT_OSTEOPOROTIC, abs=0.5)
        assert comparison["ancova_ci_low"] > 0
        assert comparison["responders_30_difference"] >= 0


def test_mixed_model_etiology_coefficient_is_the_adjusted_osteoporotic_advantage(result):
    mixed = result["mixed_model"]
    assert mixed["etiology_difference"] == pytest.approx(EXTRA_IMPROVEMENT_OSTEOPOROTIC, abs=0.5)
    assert mixed["etiology_ci_low"] > 0


def test_power_uses_the_observed_osteoporotic_minus_pathologic_difference(result):
    assert result["power"]["observed_difference"] == result["timepoints"][0]["comparison"]["difference"] > 0


def test_hazard_ratio_is_pathologic_versus_osteoporotic(result):
    recurrence = result["recurrence"]
    assert recurrence["events_pathologic"] > recurrence["events_osteoporotic"] > 0
    assert recurrence["hazard_ratio"] > 1 and recurrence["hr_ci_low"] > 1
    assert recurrence["median_days_pathologic"] == 30 and recurrence["median_days_osteoporotic"] is None
