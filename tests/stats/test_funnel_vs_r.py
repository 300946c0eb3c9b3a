"""Funnel plot limits of the benchmarking section against R formulas (tests/stats/r/sites_expected.R).

The R script writes out Spiegelhalter's (2005) limits (normal for means; exact binomial and Poisson
with interpolation), FunnelPlotR's winsorised phi, ``lm`` and ``glm(binomial)`` for the risk
adjustment. Tolerance 1e-9 relative (1e-7 for the logistic fit, which both sides iterate).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.stats.funnel import binomial_limit, funnel_section, overdispersion, poisson_limit
from vertebro.stats.validate import validate_flat

R_DIR = Path(__file__).parent / "r"
EXPECTED = json.loads((R_DIR / "sites_expected.json").read_text())["funnels"]


@pytest.fixture(scope="module")
def paired():
    flat = validate_flat(pd.read_csv(R_DIR / "sites_registry.csv", dtype=str, keep_default_na=False), source="fixture")
    baseline = flat[flat["timepoint"] == "baseline"].set_index("patient_id")["vps"].rename("baseline")
    return flat[flat["timepoint"] != "baseline"].join(baseline, on="patient_id", how="inner")


def column(rows, key):
    return np.array([row[key] for row in rows])


@pytest.mark.parametrize("code", ["post", "3m"])
@pytest.mark.parametrize("outcome", ["mean_improvement", "mean_improvement_risk_adjusted"])
def test_mean_funnels_match_r(paired, code, outcome):
    section = funnel_section(paired, code)
    ours, theirs = section["outcomes"][outcome], EXPECTED[code][outcome]
    rows = ours["sites"]
    assert [row["site"] for row in rows] == theirs["sites"]  # by name, never ranked
    assert ours["target"] == pytest.approx(theirs["target"], rel=1e-12)
    assert ours["sd"] == pytest.approx(theirs["sd"], rel=1e-9)
    np.testing.assert_allclose(column(rows, "n"), theirs["n"])
    for key in ("value", "z", "low_95", "high_95", "low_99.8", "high_99.8"):
        np.testing.assert_allclose(column(rows, key), theirs[key], rtol=1e-9, err_msg=key)
    assert ours["overdispersion"]["phi"] == pytest.approx(theirs["phi"], rel=1e-9)
    assert ours["overdispersion"]["winsorised_at"] == pytest.approx(theirs["winsorised_at"], rel=1e-9)
    np.testing.assert_allclose(column(rows, "low_95_overdispersion"), theirs["low_95_od"], rtol=1e-9)
    np.testing.assert_allclose(column(rows, "high_99.8_overdispersion"), theirs["high_99.8_od"], rtol=1e-9)


@pytest.mark.parametrize("code", ["post", "3m"])
def test_responder_funnel_has_exact_binomial_limits_as_r(paired, code):
    ours, theirs = funnel_section(paired, code)["outcomes"]["responders_30"], EXPECTED[code]["responders_30"]
    rows = ours["sites"]
    assert ours["target"] == pytest.approx(theirs["target"], rel=1e-12)
    for key in ("n", "value", "z", "low_95", "high_95", "low_99.8", "high_99.8"):
        np.testing.assert_allclose(column(rows, key), theirs[key], rtol=1e-9, err_msg=key)
    assert ours["overdispersion"]["phi"] == pytest.approx(theirs["phi"], rel=1e-9)


@pytest.mark.parametrize("code", ["post", "3m"])
def test_risk_adjusted_responder_ratio_matches_glm_and_poisson_limits(paired, code):
    ours, theirs = funnel_section(paired, code)["outcomes"]["responders_30_risk_adjusted"], EXPECTED[code]["responders_30_risk_adjusted"]
    rows = ours["sites"]
    np.testing.assert_allclose(column(rows, "observed"), theirs["observed"])
    np.testing.assert_allclose(column(rows, "expected"), theirs["expected"], rtol=1e-7)
    for key in ("value", "low_95", "high_95", "low_99.8", "high_99.8"):
        np.testing.assert_allclose(column(rows, key), theirs[key], rtol=1e-7, err_msg=key)


def test_flags_follow_the_limits(paired):
    for row in funnel_section(paired, "post")["outcomes"]["mean_improvement"]["sites"]:
        assert row["outside_95"] == (row["value"] < row["low_95"] or row["value"] > row["high_95"])
        assert not row["outside_99.8"] or row["outside_95"]


def test_binomial_limit_interpolates_between_whole_counts():
    # n = 10, p = 0.5: F(7) = 0.9453, F(8) = 0.9893, so r_0.975 = 8 and alpha = (0.9893 - 0.975)/(0.9893 - 0.9453)
    from scipy import stats

    upper, lower = stats.binom.cdf(8, 10, 0.5), stats.binom.cdf(7, 10, 0.5)
    expected = (8 - (upper - 0.975) / (upper - lower)) / 10
    assert binomial_limit(0.5, np.array([10]), 0.975)[0] == pytest.approx(expected, rel=1e-14)
    assert poisson_limit(np.array([4.0]), 0.5)[0] == pytest.approx(
        (4 - (stats.poisson.cdf(4, 4.0) - 0.5) / (stats.poisson.cdf(4, 4.0) - stats.poisson.cdf(3, 4.0))) / 4, rel=1e-14
    )


def test_overdispersion_winsorises_at_the_tenth_percentiles():
    z = np.arange(11, dtype=float)  # quantiles 1 and 9
    phi, low, high = overdispersion(z)
    assert (low, high) == (1.0, 9.0)
    assert phi == pytest.approx(np.mean(np.clip(z, 1, 9) ** 2))


def test_one_site_gives_null_with_reason(paired):
    section = funnel_section(paired.assign(site="A"), "post")
    assert section["outcomes"] is None and "one site" in section["reason"]


def test_one_patient_per_site_gives_null_with_reason(paired):
    section = funnel_section(paired.assign(site=paired["patient_id"]), "post")
    assert section["outcomes"] is None and "one patient" in section["reason"]


def test_no_site_column_gives_null_with_reason(paired):
    section = funnel_section(paired.drop(columns="site"), "post")
    assert section["outcomes"] is None and "no site column" in section["reason"]


def test_primary_nobody_reached_gives_null_with_reason(paired):
    section = funnel_section(paired, "6m")
    assert section["outcomes"] is None and "6m" in section["reason"]
