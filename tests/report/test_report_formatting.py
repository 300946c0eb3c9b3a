"""Display rounding: the only place numbers are rounded; missing values become a dash."""

from __future__ import annotations

import math

import pytest

from vertebro.report import formatting as fmt


@pytest.mark.parametrize("missing", [None, math.nan, float("nan")])
def test_missing_values_render_as_a_dash_everywhere(missing):
    assert fmt.number(missing) == fmt.integer(missing) == fmt.p_value(missing) == fmt.MISSING
    assert fmt.interval(missing, 1.0) == fmt.interval(1.0, missing) == fmt.MISSING
    assert fmt.proportion(missing) == fmt.count_percent(missing, 10) == fmt.MISSING


def test_numbers_use_a_true_minus_and_never_minus_zero():
    assert fmt.number(-1.234) == "−1.23"
    assert fmt.number(-0.001) == "0.00"
    assert fmt.interval(-0.456, 1.5) == "−0.46 to 1.50"


def test_p_values_below_one_in_a_thousand_are_bounded():
    assert fmt.p_value(0.0004) == "<0.001"
    assert fmt.p_value(0.04321) == "0.043"


def test_counts_percentages_and_shares():
    assert fmt.count_percent(12, 40) == "12 (30.0%)"
    assert fmt.count_percent(0, 0) == "0"
    assert fmt.proportion(0.4872, 0) == "49%"
    assert fmt.share(88, 90) == "97%"  # 97.8: rounded down
    assert fmt.share(270, 271) == "99%" and fmt.share(271, 271) == "100%"
    assert fmt.share(0, 0) == fmt.MISSING
    assert fmt.integer(1234) == "1,234"


def test_p_values_read_as_clauses_in_sentences():
    assert fmt.p_clause(0.0004) == "p < 0.001"
    assert fmt.p_clause(0.04321) == "p = 0.043"
    assert fmt.p_clause(None) == "p not available"


def test_estimates_with_intervals_degrade_gracefully():
    assert fmt.estimate(1.0106, 0.0417, 1.9795) == "1.01 (0.04 to 1.98)"
    assert fmt.estimate(0.1534, -0.0456, 0.3312, 1, scale=100) == "15.3 (−4.6 to 33.1)"
    assert fmt.estimate(1.0, None, 2.0) == "1.00 (CI —)"
    assert fmt.estimate(None, 0.0, 1.0) == fmt.MISSING
