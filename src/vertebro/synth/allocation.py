"""Exact totals from random draws: the arithmetic that makes published figures hold by construction.

Three tools, all deterministic given their inputs and a :class:`numpy.random.Generator`:

* :func:`split_count` — how many of the remaining "successes" fall in the next chunk (hypergeometric),
  so exact cohort-wide counts can be dealt out chunk by chunk without holding the cohort in memory;
* :func:`shuffled_flags` — an exact number of ``True`` in random positions;
* :func:`integers_with_total` — integers near given real values, inside bounds, with an exact sum.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_BISECTION_STEPS = 64


def round_half_up(value: Fraction | int) -> int:
    """Round an exact rational half up (``Fraction(5, 2)`` → 3), the rule used for scaled counts."""
    return math.floor(Fraction(value) + Fraction(1, 2))


def split_count(rng: np.random.Generator, successes_left: int, population_left: int, take: int) -> int:
    """Successes among the next ``take`` of ``population_left`` items holding ``successes_left``.

    Drawing chunk after chunk this way gives exactly the same law as shuffling the whole population
    once and cutting it into chunks, and the chunk counts add up to ``successes_left`` exactly.
    """
    if not 0 <= take <= population_left or not 0 <= successes_left <= population_left:
        raise ValueError(f"cannot take {take} of {population_left} holding {successes_left}")
    if take == population_left:
        return successes_left
    if take == 0 or successes_left == 0:
        return 0
    return int(rng.hypergeometric(successes_left, population_left - successes_left, take))


def shuffled_flags(rng: np.random.Generator, size: int, true_count: int) -> np.ndarray:
    """A boolean array of ``size`` with exactly ``true_count`` ``True`` values at random positions."""
    flags = np.zeros(size, dtype=bool)
    flags[:true_count] = True
    rng.shuffle(flags)
    return flags


def integers_with_total(latent: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int) -> np.ndarray:
    """Integers close to ``latent`` within ``[lower, upper]`` whose sum is exactly ``total``.

    The values are shifted by one common constant ``c`` chosen so that
    ``sum(clip(latent + c, lower, upper)) == total`` (found by bisection; the sum is continuous and
    non-decreasing in ``c``), then rounded by the largest-remainder rule: every value is floored and
    the ``total - sum(floors)`` values with the largest fractional parts go up by one. The shape of the
    draw (its spread, skew and ordering) is kept; only its location moves.

    Parameters
    ----------
    latent : ndarray of float
        The random draws.
    lower, upper : ndarray of int
        Inclusive bounds per value (broadcastable to ``latent``).
    total : int
        The required sum; must lie within ``[sum(lower), sum(upper)]``.

    Returns
    -------
    ndarray of int64
    """
    latent = np.asarray(latent, dtype=np.float64)
    lower = np.broadcast_to(np.asarray(lower, dtype=np.int64), latent.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=np.int64), latent.shape)
    if latent.size == 0:
        if total != 0:
            raise ValueError(f"no values to carry a total of {total}")
        return np.zeros(0, dtype=np.int64)
    if not int(lower.sum()) <= total <= int(upper.sum()):
        raise ValueError(f"a total of {total} is impossible within bounds summing {lower.sum()}..{upper.sum()}")
    low_shift = float((lower - latent).min())  # every value at its lower bound
    high_shift = float((upper - latent).max())  # every value at its upper bound
    for _ in range(_BISECTION_STEPS):
        middle = (low_shift + high_shift) / 2
        if np.clip(latent + middle, lower, upper).sum() <= total:
            low_shift = middle
        else:
            high_shift = middle
    shifted = np.clip(latent + low_shift, lower, upper)  # sum <= total, within rounding of it
    floors = np.floor(shifted).astype(np.int64)
    missing = total - int(floors.sum())
    fractions = shifted - floors
    fractions[floors >= upper] = -1.0  # already at the bound: cannot go up
    if missing:
        chosen = np.argsort(-fractions, kind="stable")[:missing]
        if missing > len(chosen) or (fractions[chosen] < 0).any():
            raise ValueError(f"cannot reach a total of {total} within the bounds")
        floors[chosen] += 1
    return floors
