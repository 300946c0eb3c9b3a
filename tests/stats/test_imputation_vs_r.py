"""Multiple imputation of missing follow-up scores against R's mice (tests/stats/r/sites_expected.R).

Exact: the five completed data sets committed in sites_completed.csv, analysed and pooled here and by
``mice::pool`` in R, agree to 1e-9 (relative) in every Rubin's-rules quantity, for every delta scenario.
Monte Carlo: our own imputations (m = 100) and R's ``mice(method = "norm")`` imputations (m = 200) of
the same data give pooled differences within four Monte Carlo standard errors,
``4 sqrt(B_py / m_py + B_R / m_R)``, and within-imputation variances within 5%.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.stats.imputation import imputation_data, impute_follow_up, pool_differences, tipping_delta
from vertebro.stats.rubin import rubin_pool
from vertebro.stats.validate import validate_flat

R_DIR = Path(__file__).parent / "r"
EXPECTED = json.loads((R_DIR / "sites_expected.json").read_text())
RELATIVE = 1e-9


@pytest.fixture(scope="module")
def data():
    flat = pd.read_csv(R_DIR / "sites_registry.csv", dtype=str, keep_default_na=False)
    return imputation_data(validate_flat(flat, source="sites_registry.csv"))


@pytest.fixture(scope="module")
def committed(data):
    long = pd.read_csv(R_DIR / "sites_completed.csv")
    sets = []
    for _, frame in long.groupby("imputation", sort=True):
        frame = frame.set_index("patient_id").loc[data.patient_ids]
        sets.append(frame[[f"tp_{code}" for code in data.timepoints]].to_numpy(float))
    return np.stack(sets)


def test_the_imputations_are_reproducible_from_the_seed(data, committed):
    again = impute_follow_up(data, m=5, seed=7, workers=1)
    np.testing.assert_allclose(again, committed, rtol=1e-12, atol=1e-12)


def test_two_worker_processes_give_the_same_imputations_as_one(data):
    one = impute_follow_up(data, m=4, seed=3, workers=1)
    two = impute_follow_up(data, m=4, seed=3, workers=2)
    np.testing.assert_array_equal(one, two)


def test_observed_scores_are_kept_and_only_missing_ones_drawn(data, committed):
    seen = ~data.missing
    for scores in committed:
        np.testing.assert_array_equal(scores[seen], data.scores[seen])
        assert not np.isnan(scores).any()
    assert np.ptp(committed[:, data.missing], axis=0).min() > 0


@pytest.mark.parametrize("entry", EXPECTED["mi_exact"], ids=lambda e: f"{e['timepoint']}-{e['shifted_group']}-{e['delta']}")
def test_pooled_difference_matches_mice_pool_for_fixed_imputations(data, committed, entry):
    statistics = {stat.timepoint: stat for stat in pool_differences(data, committed)}
    pooled = statistics[entry["timepoint"]].pooled(entry["delta"], entry["shifted_group"])
    for ours, theirs in (
        ("estimate", "estimate"), ("se", "se"), ("df", "df"), ("p", "p"), ("ci_low", "ci_low"),
        ("ci_high", "ci_high"), ("within_variance", "within_variance"), ("between_variance", "between_variance"),
        ("total_variance", "total_variance"), ("riv", "riv"), ("lambda_", "lambda"), ("fmi", "fmi"), ("dfcom", "dfcom"),
    ):  # fmt: skip
        assert getattr(pooled, ours) == pytest.approx(entry[theirs], rel=RELATIVE), ours
    assert pooled.m == entry["m"] == 5


def test_rubins_rules_written_out_by_hand():
    estimates = np.array([1.0, 1.4, 0.8, 1.2])
    variances = np.array([0.09, 0.11, 0.10, 0.10])
    dfcom = 50
    pooled = rubin_pool(estimates, variances, dfcom)
    qbar, ubar = 1.1, 0.1
    b = ((1.0 - 1.1) ** 2 + (1.4 - 1.1) ** 2 + (0.8 - 1.1) ** 2 + (1.2 - 1.1) ** 2) / 3
    t = ubar + (1 + 1 / 4) * b
    lam = (1 + 1 / 4) * b / t
    df_old = 3 / lam**2
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    df = df_old * df_obs / (df_old + df_obs)
    assert pooled.estimate == pytest.approx(qbar, rel=1e-15)
    assert pooled.within_variance == pytest.approx(ubar, rel=1e-15)
    assert pooled.between_variance == pytest.approx(b, rel=1e-14)
    assert pooled.total_variance == pytest.approx(t, rel=1e-14)
    assert pooled.df == pytest.approx(df, rel=1e-13)
    assert pooled.riv == pytest.approx((1 + 1 / 4) * b / ubar, rel=1e-14)
    assert pooled.fmi == pytest.approx((pooled.riv + 2 / (df + 3)) / (1 + pooled.riv), rel=1e-14)
    from scipy import stats

    half = stats.t.ppf(0.975, df) * math.sqrt(t)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((qbar - half, qbar + half), rel=1e-13)


def test_r_by_hand_rubin_agrees_with_mice_pool():
    for entry in EXPECTED["mi_exact"]:
        if "by_hand" in entry:
            for key, value in entry["by_hand"].items():
                assert value == pytest.approx(entry[key], rel=1e-12), (entry["timepoint"], key)


def test_no_between_imputation_variance_uses_mice_lambda_floor():
    pooled = rubin_pool(np.array([2.0, 2.0, 2.0]), np.array([0.5, 0.5, 0.5]), 30)
    lam = 1e-4
    df_old, df_obs = 2 / lam**2, 31 / 33 * 30 * (1 - lam)
    assert pooled.between_variance == 0
    assert pooled.df == pytest.approx(df_old * df_obs / (df_old + df_obs), rel=1e-13)


def test_rubins_rules_refuse_a_single_imputation():
    with pytest.raises(ValueError, match="at least two imputations"):
        rubin_pool(np.array([1.0]), np.array([0.1]), 10)


MONTE_CARLO_M = 100


@pytest.fixture(scope="module")
def many(data):
    completed = impute_follow_up(data, m=MONTE_CARLO_M, seed=11, workers=1)
    return {stat.timepoint: stat for stat in pool_differences(data, completed)}


@pytest.mark.parametrize("code", ["post", "1m", "3m", "12m"])
def test_pooled_difference_agrees_with_mice_within_monte_carlo_error(many, code):
    m = MONTE_CARLO_M
    ours = many[code].pooled()
    theirs = EXPECTED["mi_monte_carlo"][code]
    tolerance = 4 * math.sqrt(ours.between_variance / m + theirs["between_variance"] / theirs["m"])
    assert abs(ours.estimate - theirs["estimate"]) <= tolerance
    assert ours.within_variance == pytest.approx(theirs["within_variance"], rel=0.05)
    assert 0.5 <= ours.between_variance / theirs["between_variance"] <= 2.0


def test_tipping_point_is_where_the_interval_starts_to_cover_zero(data, committed):
    stat = {s.timepoint: s for s in pool_differences(data, committed)}["post"]
    assert stat.pooled().ci_low > 0  # osteoporotic improve more at post in this fixture
    delta = tipping_delta(stat, "osteoporotic")
    assert delta is not None and 0 < delta < 10
    assert stat.pooled(delta, "osteoporotic").ci_low == pytest.approx(0, abs=1e-9)
    assert stat.pooled(delta - 1e-6, "osteoporotic").ci_low > 0


def test_constant_and_collinear_predictors_are_left_out_of_the_draws(data):
    # everyone female and one site: sex_M is all zeros and a site column copies the intercept
    from dataclasses import replace

    names = list(data.predictor_names)
    predictors = data.predictors.copy()
    predictors[:, names.index("sex_M")] = 0.0
    predictors[:, names.index("site[B]")] = 1.0
    degenerate = replace(data, predictors=predictors)
    completed = impute_follow_up(degenerate, m=2, seed=5, workers=1)
    assert np.isfinite(completed).all()
    assert completed[:, degenerate.missing].std() > 0
