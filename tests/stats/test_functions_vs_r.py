"""The building blocks agree with R on chosen vectors and tables (tests/stats/r/core_functions.expected.json,
written by ``Rscript tests/stats/r/make_expected.R``): signed-rank and rank-sum tests on both sides of the
n = 50 and ties/zeros boundaries, Newcombe intervals and Fisher p-values including empty cells, the
two-tailed power formula, and the ANCOVA least squares against ``lm`` including aliased (NA) columns.
Tolerance: 1e-6 relative (all closed forms); methods and dropped columns must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.stats.compare import ancova, fisher_exact_p, rank_sum_test, responder_difference
from vertebro.stats.paired import signed_rank_test, signrank_cdf
from vertebro.stats.power import two_sample_power

EXPECTED = json.loads((Path(__file__).parent / "r" / "core_functions.expected.json").read_text())
TOLERANCE = {"rel": 1e-6, "abs": 1e-12}


def as_array(values) -> np.ndarray:
    return np.atleast_1d(np.asarray(values, dtype=float))


@pytest.mark.parametrize("case", EXPECTED["signed_rank"], ids=lambda case: case["name"])
def test_signed_rank_matches_r_wilcox_test(case):
    result = signed_rank_test(as_array(case["d"]))
    assert result.method == case["method"]
    assert result.statistic == pytest.approx(case["statistic"], **TOLERANCE)
    assert result.p == pytest.approx(case["p"], **TOLERANCE)


@pytest.mark.parametrize("case", EXPECTED["rank_sum"], ids=lambda case: case["name"])
def test_rank_sum_matches_r_wilcox_test(case):
    result = rank_sum_test(as_array(case["x"]), as_array(case["y"]))
    assert result.method == case["method"]
    assert result.statistic == pytest.approx(case["statistic"], **TOLERANCE)
    assert result.p == pytest.approx(case["p"], **TOLERANCE)


@pytest.mark.parametrize("case", EXPECTED["proportions"], ids=lambda c: f"{c['r1']}of{c['n1']}-{c['r2']}of{c['n2']}")
def test_newcombe_interval_and_fisher_match_r(case):
    result = responder_difference(case["r1"], case["n1"], case["r2"], case["n2"])
    assert result.difference == pytest.approx(case["difference"], **TOLERANCE)
    assert result.ci_low == pytest.approx(case["ci_low"], **TOLERANCE)
    assert result.ci_high == pytest.approx(case["ci_high"], **TOLERANCE)
    assert result.fisher_p == pytest.approx(case["fisher_p"], **TOLERANCE)


def test_newcombe_reproduces_the_published_example():
    # Newcombe (1998) Stat Med 17:873, Table II, example (a): 56/70 - 48/80, method 10: +0.0524 to +0.3339.
    result = responder_difference(56, 70, 48, 80)
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (0.0524, 0.3339)


def test_fisher_counts_tables_of_equal_probability_as_extreme():
    # A symmetric table: every other table is less probable or equally probable, so p is exactly 1.
    assert fisher_exact_p(3, 3, 3, 3) == pytest.approx(1.0)


@pytest.mark.parametrize("case", EXPECTED["power"], ids=lambda c: f"d{c['difference']}-n{c['n1']}-{c['n2']}")
def test_two_tailed_power_matches_the_formula_and_power_t_test(case):
    power = two_sample_power(case["difference"], case["sd"], case["n1"], case["n2"])
    assert power == pytest.approx(case["power"], **TOLERANCE)
    if case["power_t_test"] is not None:
        assert power == pytest.approx(case["power_t_test"], **TOLERANCE)


def test_signed_rank_distribution_sums_to_one_and_is_symmetric():
    n = 12
    total = n * (n + 1) // 2
    assert signrank_cdf(total, n) == pytest.approx(1.0, rel=1e-15)
    for q in range(total):
        assert signrank_cdf(q, n) == pytest.approx(1 - signrank_cdf(total - q - 1, n), rel=1e-12)


@pytest.mark.parametrize("case", EXPECTED["ancova"], ids=lambda case: case["name"])
def test_ancova_matches_r_lm_and_drops_the_columns_lm_aliases(case):
    data = pd.DataFrame({key: case[key] for key in ("etiology", "baseline", "age", "sex", "followup")})
    result = ancova(data)
    assert list(result.dropped) == list(np.atleast_1d(case["aliased"]))
    assert result.n == case["n"]
    assert result.difference == pytest.approx(case["estimate"], **TOLERANCE)
    assert result.ci_low == pytest.approx(case["ci_low"], **TOLERANCE)
    assert result.ci_high == pytest.approx(case["ci_high"], **TOLERANCE)
    assert result.p == pytest.approx(case["p"], **TOLERANCE)
