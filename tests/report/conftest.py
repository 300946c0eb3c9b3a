"""Fixtures for the report tests: a small synthetic flat cohort and contract-shaped analysis dicts."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from vertebro.domain.flat import FLAT_COLUMNS

FOLLOW_UP_DAYS = {"post": 1, "1w": 7, "1m": 30, "3m": 90, "6m": 180, "12m": 365}
LEVELS = ["T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4"]


def synthetic_flat(n_osteoporotic: int = 90, n_pathologic: int = 20, n_traumatic: int = 3, seed: int = 7) -> pd.DataFrame:
    """A flat-format cohort: osteoporotic patients improve ~1 point more, some drop out, some recur."""
    rng = np.random.default_rng(seed)
    etiologies = ["osteoporotic"] * n_osteoporotic + ["pathologic"] * n_pathologic + ["traumatic"] * n_traumatic
    rows = []
    for i, etiology in enumerate(etiologies, start=1):
        patient = dict(
            patient_id=f"S{i:04d}",
            site="A",
            sex="F" if rng.random() < (0.75 if etiology == "osteoporotic" else 0.5) else "M",
            age=int(np.clip(rng.normal(74 if etiology == "osteoporotic" else 63, 9), 22, 95)),
            etiology=etiology,
            procedure_date="2023-03-01",
            levels=";".join(LEVELS[(s := int(rng.integers(0, 8))) : s + int(rng.choice([1, 1, 1, 2, 3]))]),
            cement_ml=round(float(rng.normal(4.0, 1.2)), 1),
        )
        baseline = int(np.clip(round(rng.normal(7.5, 1.4)), 3, 10))
        effect = 4.2 if etiology == "osteoporotic" else 3.2
        rows.append(patient | dict(timepoint="baseline", days=-1, vps=baseline, venue="neurointerventional_clinic",
                                   recurrent_pain=None))
        dropout = rng.choice(list(FOLLOW_UP_DAYS) + [None], p=[0.02, 0.05, 0.08, 0.1, 0.1, 0.1, 0.55])
        recur_hazard = 0.06 if etiology == "osteoporotic" else 0.14
        for timepoint, days in FOLLOW_UP_DAYS.items():
            if timepoint == dropout:
                break
            score = int(np.clip(round(baseline - effect + rng.normal(0, 1.8)), 0, 10))
            rows.append(patient | dict(timepoint=timepoint, days=days, vps=score, venue="primary_care",
                                       recurrent_pain=int(rng.random() < recur_hazard)))
    return pd.DataFrame(rows, columns=[*FLAT_COLUMNS, "levels", "cement_ml"])


@pytest.fixture(scope="session")
def flat_df() -> pd.DataFrame:
    return synthetic_flat()


def _group(n, baseline, followup, improvement, sd, lo, hi, evaluable, r30, r50):
    return dict(n=n, baseline_mean=baseline, followup_mean=followup, improvement_mean=improvement,
                improvement_sd=sd, ci_low=lo, ci_high=hi, paired_t_p=1.234e-20, wilcoxon_p=4.567e-9,
                evaluable=evaluable, responders_30=r30, responders_50=r50)


def _comparison(difference, lo, hi):
    return dict(difference=difference, ci_low=lo, ci_high=hi, welch_p=0.04321, mann_whitney_p=0.05678,
                ancova_difference=difference * 0.9, ancova_ci_low=lo * 0.9, ancova_ci_high=hi * 0.9,
                ancova_p=0.0612, responders_30_difference=0.1534, responders_30_ci_low=-0.0456,
                responders_30_ci_high=0.3312, responders_30_fisher_p=0.1789)


CONTRACT_ANALYSIS = {
    "schema": "vertebro.analysis/1",
    "cohort": dict(patients=113, female=78, male=35, age_mean=71.8123, age_sd=9.9876, age_min=41,
                   age_max=95, osteoporotic=90, pathologic=20),
    "timepoints": [
        dict(timepoint="post", groups=dict(
            osteoporotic=_group(88, 7.51, 3.29, 4.2211, 1.83, 3.8333, 4.6089, 88, 80, 61),
            pathologic=_group(19, 7.42, 4.21, 3.2105, 1.91, 2.2901, 4.1309, 19, 14, 8)),
            comparison=_comparison(1.0106, 0.0417, 1.9795)),
        dict(timepoint="1m", groups=dict(
            osteoporotic=_group(80, 7.5, 3.3, 4.2, 1.8, 3.8, 4.6, 80, 70, 50),
            pathologic=_group(16, 7.4, 4.2, 3.2, 1.9, 2.2, 4.2, 16, 11, 6)),
            comparison=_comparison(1.0, -0.1, 2.1)),
    ],
    "mixed_model": dict(n_observations=512, n_patients=107, etiology_difference=0.9876, etiology_se=0.3456,
                        patient_variance=0.4321, residual_variance=3.2109),
    "recurrence": dict(events_osteoporotic=21, events_pathologic=9, median_days_osteoporotic=None,
                       median_days_pathologic=180.0, logrank_p=0.0123, hazard_ratio=2.3456,
                       hr_ci_low=1.0712, hr_ci_high=5.1357),
    "power": dict(sd=1.8437, minimal_detectable_difference=1.3127, power_observed=0.4872,
                  per_group_needed_equal=55),
    "completeness": [
        dict(timepoint="post", groups=dict(osteoporotic=dict(expected=90, observed=88, missing=2),
                                           pathologic=dict(expected=20, observed=19, missing=1))),
        dict(timepoint="1m", groups=dict(osteoporotic=dict(expected=90, observed=80, missing=10),
                                         pathologic=dict(expected=20, observed=16, missing=4))),
    ],
    "warnings": ["1m: <b>two</b> patients lack a baseline score & were left out"],
}


@pytest.fixture(scope="session")
def contract_template() -> dict:
    """A dict with exactly the contract's keys and hand-chosen numbers (no relation to flat_df).

    Shared by the whole session: tests that change it use ``contract_analysis`` instead.
    """
    return CONTRACT_ANALYSIS


@pytest.fixture
def contract_analysis() -> dict:
    """A private copy of :func:`contract_template` that a test may change."""
    return copy.deepcopy(CONTRACT_ANALYSIS)


@pytest.fixture(scope="session")
def make_flat():
    """The synthetic cohort generator, for tests that need a variant (e.g. no pathologic patients)."""
    return synthetic_flat
