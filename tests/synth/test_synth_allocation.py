"""The arithmetic behind exact figures: totals, counts dealt out by chunk, rounding."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vertebro.synth.allocation import integers_with_total, round_half_up, shuffled_flags, split_count


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-50, 150, allow_nan=False), min_size=1, max_size=60),
    lower=st.integers(0, 30),
    width=st.integers(0, 80),
    position=st.floats(0, 1),
)
def test_integers_with_total_hits_the_total_within_bounds(values, lower, width, position):
    latent = np.array(values)
    upper = lower + width
    total = round(len(values) * (lower + position * width))
    result = integers_with_total(latent, lower, upper, total)
    assert result.sum() == total
    assert result.min() >= lower and result.max() <= upper
    assert result.dtype == np.int64


def test_integers_with_total_keeps_the_shape_of_the_draw():
    rng = np.random.default_rng(0)
    latent = rng.normal(70, 10, 1000)
    result = integers_with_total(latent, 0, 200, 73_000)
    shifted = latent - latent.mean() + 73
    assert np.abs(result - shifted).max() <= 1.0  # only the location moved, by rounding at most
    assert np.corrcoef(result, latent)[0, 1] > 0.99


def test_integers_with_total_respects_per_value_bounds():
    latent = np.array([5.0, 5.0, 5.0, 5.0])
    lower, upper = np.array([1, 1, 1, 1]), np.array([4, 10, 2, 10])
    result = integers_with_total(latent, lower, upper, 26)
    assert result.tolist() == [4, 10, 2, 10]
    with pytest.raises(ValueError, match="impossible"):
        integers_with_total(latent, lower, upper, 27)


def test_split_count_deals_out_exactly_the_total():
    rng = np.random.default_rng(1)
    successes, population = 217, 300
    dealt = []
    for take in [37] * 8 + [4]:
        got = split_count(rng, successes, population, take)
        assert 0 <= got <= min(take, successes)
        dealt.append(got)
        successes -= got
        population -= take
    assert sum(dealt) == 217 and population == 0


def test_split_count_is_hypergeometric_on_average():
    rng = np.random.default_rng(2)
    draws = [split_count(rng, 30, 300, 100) for _ in range(4000)]
    assert np.mean(draws) == pytest.approx(10, abs=0.2)


def test_shuffled_flags_has_the_exact_count():
    flags = shuffled_flags(np.random.default_rng(3), 300, 83)
    assert flags.sum() == 83 and not flags[:83].all()


@pytest.mark.parametrize(
    ("value", "expected"), [(Fraction(5, 2), 3), (Fraction(7, 2), 4), (Fraction(-1, 2), 0), (Fraction(2, 3), 1), (4, 4)]
)
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected
