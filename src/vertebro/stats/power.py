"""Power of the two-sample t-test for the difference in improvement, at the observed group sizes.

Everything here is the pooled-variance two-sample t-test, two-sided alpha 0.05, with both rejection
tails counted (as R's ``power.t.test(..., strict = TRUE)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

__all__ = ["PowerAnalysis", "pooled_sd", "power_analysis", "two_sample_power"]

ALPHA = 0.05
TARGET_POWER = 0.80
#: Group sizes beyond this are reported as not reachable rather than searched for.
_LARGEST_GROUP = 10**9
#: A tail probability below this cannot change a power figure at the precision it is reported to.
_NEGLIGIBLE = 1e-16


@dataclass(frozen=True)
class PowerAnalysis:
    """What the observed groups can detect.

    Attributes
    ----------
    sd : float or None
        Pooled SD of improvement, ``sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))``.
    minimal_detectable_difference : float or None
        The difference detected with 80% power at the observed ``n1``, ``n2``.
    power_observed : float or None
        Power for the observed |difference|.
    per_group_needed_equal : int or None
        Smallest equal group size with at least 80% power for the observed |difference|.
    n1, n2 : int
        The group sizes used (osteoporotic, pathologic).
    observed_difference : float or None
        The osteoporotic-minus-pathologic difference in mean improvement used.
    notes : tuple of str
    """

    sd: float | None
    minimal_detectable_difference: float | None
    power_observed: float | None
    per_group_needed_equal: int | None
    n1: int
    n2: int
    observed_difference: float | None
    notes: tuple[str, ...] = ()


def pooled_sd(x: np.ndarray, y: np.ndarray) -> float:
    """Pooled standard deviation of two samples (n1 + n2 - 2 denominator)."""
    n1, n2 = len(x), len(y)
    ss = (n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)
    return float(np.sqrt(ss / (n1 + n2 - 2)))


def two_sample_power(difference: float, sd: float, n1: float, n2: float, alpha: float = ALPHA) -> float:
    r"""Power of the two-sided pooled two-sample t-test, both tails counted.

    With ``df = n1 + n2 - 2``, ``delta = |difference| / (sd sqrt(1/n1 + 1/n2))`` and
    ``c = t(1 - alpha/2, df)``:

    .. math:: \text{power} = P(T'_{df,\delta} > c) + P(T'_{df,\delta} < -c),

    where :math:`T'` is noncentral t.

    References
    ----------
    Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed., ch. 2.
    """
    df = n1 + n2 - 2
    ncp = abs(difference) / (sd * np.sqrt(1 / n1 + 1 / n2))
    critical = sps.t.ppf(1 - alpha / 2, df)
    upper = sps.nct.sf(critical, df, ncp)
    if not np.isfinite(upper):
        upper = 1.0 - sps.nct.cdf(critical, df, ncp)
    lower = sps.nct.cdf(-critical, df, ncp)
    if not np.isfinite(lower) and sps.norm.cdf(-ncp) < _NEGLIGIBLE:
        # scipy returns NaN far in this tail for large df and ncp; T' < -c needs Z + ncp < 0, so the
        # term is below Phi(-ncp), which is negligible here.
        lower = 0.0
    power = float(upper + lower)
    if not np.isfinite(power):
        raise ArithmeticError(f"noncentral t power is not computable at df={df}, ncp={ncp}")
    return power


def power_analysis(x: np.ndarray, y: np.ndarray) -> PowerAnalysis:
    """Power figures for improvements ``x`` (osteoporotic) and ``y`` (pathologic) at one timepoint.

    The minimal detectable difference solves ``power(d) = 0.8`` by Brent's method (``xtol`` 1e-12);
    the equal group size needed is the smallest integer ``n`` with ``power(|difference|, n, n) >= 0.8``,
    found by bisection (power grows with ``n``).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n1, n2 = len(x), len(y)
    if n1 < 2 or n2 < 2:
        return PowerAnalysis(
            None, None, None, None, n1, n2, None,
            (f"power needs at least two patients per group (osteoporotic {n1}, pathologic {n2})",),
        )
    sd = pooled_sd(x, y)
    difference = float(np.mean(x) - np.mean(y))
    if sd == 0:
        return PowerAnalysis(
            0.0, None, None, None, n1, n2, difference,
            ("the pooled SD of improvement is zero: power is not defined",),
        )

    def shortfall(d: float) -> float:
        return two_sample_power(d, sd, n1, n2) - TARGET_POWER

    upper = sd
    while shortfall(upper) < 0:
        upper *= 2
    detectable = float(optimize.brentq(shortfall, 0.0, upper, xtol=1e-12, rtol=4 * np.finfo(float).eps))
    observed_power = two_sample_power(difference, sd, n1, n2)
    notes: list[str] = []
    needed = _equal_group_size_needed(abs(difference), sd)
    if needed is None:
        if difference == 0:
            notes.append("the observed difference is zero: no sample size detects it")
        else:
            notes.append(f"more than {_LARGEST_GROUP} patients per group would be needed for the observed difference")
    return PowerAnalysis(sd, detectable, observed_power, needed, n1, n2, difference, tuple(notes))


def _equal_group_size_needed(difference: float, sd: float) -> int | None:
    if difference == 0:
        return None

    def enough(n: int) -> bool:
        return two_sample_power(difference, sd, n, n) >= TARGET_POWER

    high = 2
    while not enough(high):
        if high >= _LARGEST_GROUP:
            return None
        high = min(high * 2, _LARGEST_GROUP)
    low = max(2, high // 2)
    if enough(low):
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high
