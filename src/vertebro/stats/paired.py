"""Within-group change from baseline: paired t-test, t interval and R's Wilcoxon signed-rank test.

Improvement is ``baseline - follow-up`` (positive: less pain). Every function takes plain arrays of
equal length (one entry per patient) and returns a frozen dataclass whose ``None`` fields come with a
``notes`` entry saying why the value does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as sps

__all__ = ["PairedSummary", "SignedRankTest", "paired_summary", "signed_rank_test", "signrank_cdf"]

#: R's ``wilcox.test`` uses the exact null distribution only below this many non-zero differences.
EXACT_LIMIT = 50
#: R's ``t.test`` calls data "essentially constant" when the standard error is below this times |mean|.
_CONSTANT_TOLERANCE = 10 * np.finfo(float).eps
#: Responder thresholds compare ``improvement >= share * baseline``; scores carry at most a few decimals,
#: and this slack keeps 3 points out of 10 a 30% responder although ``0.3 * 10`` is 3.0000000000000004.
RESPONDER_SLACK = 1e-9


@dataclass(frozen=True)
class SignedRankTest:
    """Wilcoxon signed-rank test of differences against zero, as R's ``wilcox.test(x, y, paired = TRUE)``.

    Attributes
    ----------
    statistic : float or None
        V, the sum of the ranks of ``|d|`` over the positive ``d`` (zeros dropped).
    p : float or None
        Two-sided p-value.
    method : str or None
        ``"exact"`` or ``"normal"`` (normal approximation with tie and continuity correction).
    n : int
        Non-zero differences used.
    notes : tuple of str
        Why ``p`` is None, when it is.
    """

    statistic: float | None
    p: float | None
    method: str | None
    n: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairedSummary:
    """Change from baseline in one group at one timepoint (the per-group block of the contract).

    Attributes
    ----------
    n : int
        Patients with both a baseline and this follow-up score.
    baseline_mean, followup_mean, improvement_mean : float or None
        Means; improvement = baseline - follow-up.
    improvement_sd : float or None
        Sample standard deviation of the improvement (n - 1 denominator).
    ci_low, ci_high : float or None
        95% t interval of the mean improvement, ``mean -/+ t(0.975, n - 1) sd / sqrt(n)``.
    paired_t_p : float or None
        Two-sided paired t-test of mean improvement 0.
    wilcoxon_p : float or None
        Two-sided Wilcoxon signed-rank p-value (see :func:`signed_rank_test`).
    wilcoxon_method : str or None
        ``"exact"`` or ``"normal"``.
    evaluable : int
        Patients with baseline > 0 (a relative improvement exists).
    responders_30, responders_50 : int
        Evaluable patients whose improvement is at least 30% / 50% of their baseline (IMMPACT,
        Dworkin et al. 2008).
    notes : tuple of str
        Why fields are None.
    """

    n: int
    baseline_mean: float | None
    followup_mean: float | None
    improvement_mean: float | None
    improvement_sd: float | None
    ci_low: float | None
    ci_high: float | None
    paired_t_p: float | None
    wilcoxon_p: float | None
    wilcoxon_method: str | None
    evaluable: int
    responders_30: int
    responders_50: int
    notes: tuple[str, ...] = ()


def paired_summary(baseline: np.ndarray, followup: np.ndarray) -> PairedSummary:
    r"""Describe and test the improvement ``d = baseline - followup`` of one group.

    Parameters
    ----------
    baseline, followup : numpy.ndarray
        Scores of the same patients, in the same order.

    Returns
    -------
    PairedSummary

    Notes
    -----
    The t interval is :math:`\bar d \pm t_{0.975, n-1}\, s_d / \sqrt n` and the paired t statistic
    :math:`\bar d / (s_d/\sqrt n)` on ``n - 1`` degrees of freedom (Student 1908), as R's
    ``t.test(baseline, followup, paired = TRUE)``; like R, the test is refused for fewer than two
    patients or when the differences are constant.
    """
    baseline = np.asarray(baseline, dtype=np.float64)
    followup = np.asarray(followup, dtype=np.float64)
    d = baseline - followup
    n = len(d)
    notes: list[str] = []
    evaluable = baseline > 0
    responders_30 = int(np.sum(evaluable & (d >= 0.3 * baseline - RESPONDER_SLACK)))
    responders_50 = int(np.sum(evaluable & (d >= 0.5 * baseline - RESPONDER_SLACK)))
    if n == 0:
        notes.append("no patient has both a baseline and this follow-up score")
        return PairedSummary(0, None, None, None, None, None, None, None, None, None, 0, 0, 0, tuple(notes))

    mean = float(np.mean(d))
    sd = ci_low = ci_high = t_p = None
    if n < 2:
        notes.append("one patient only: the SD, t interval and paired t-test need at least two")
    else:
        sd = float(np.std(d, ddof=1))
        se = sd / np.sqrt(n)
        if se == 0 or se < _CONSTANT_TOLERANCE * abs(mean):
            notes.append(
                f"every improvement equals {mean:g}: zero variance, so the t interval and paired t-test do not exist"
            )
        else:
            half = sps.t.ppf(0.975, n - 1) * se
            ci_low, ci_high = mean - half, mean + half
            t_p = float(2 * sps.t.sf(abs(mean / se), n - 1))

    wilcoxon = signed_rank_test(d)
    notes.extend(wilcoxon.notes)
    return PairedSummary(
        n=n,
        baseline_mean=float(np.mean(baseline)),
        followup_mean=float(np.mean(followup)),
        improvement_mean=mean,
        improvement_sd=sd,
        ci_low=None if ci_low is None else float(ci_low),
        ci_high=None if ci_high is None else float(ci_high),
        paired_t_p=t_p,
        wilcoxon_p=wilcoxon.p,
        wilcoxon_method=wilcoxon.method,
        evaluable=int(np.sum(evaluable)),
        responders_30=responders_30,
        responders_50=responders_50,
        notes=tuple(notes),
    )


def signed_rank_test(d: np.ndarray) -> SignedRankTest:
    r"""Two-sided Wilcoxon signed-rank test of ``d`` against 0 with R's ``wilcox.test`` defaults.

    Zero differences are dropped. With ``n`` non-zero differences, the exact null distribution is used
    when ``n < 50`` and there were neither ties among ``|d|`` nor zeros; otherwise the normal
    approximation

    .. math::

        z = \frac{V - n(n+1)/4 - \tfrac12\operatorname{sign}(V - n(n+1)/4)}
                 {\sqrt{n(n+1)(2n+1)/24 - \sum_j (t_j^3 - t_j)/48}},

    where :math:`t_j` are the sizes of the groups of tied ``|d|``, and ``p = 2 min(Phi(z), 1 - Phi(z))``.
    The exact p-value is ``min(1, 2 P(V' >= V))`` when V lies above its mean, else ``min(1, 2 P(V' <= V))``.

    References
    ----------
    Wilcoxon F (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1(6):80-83.
    Hollander M, Wolfe DA (1973). Nonparametric Statistical Methods. Wiley, pp. 27-33 (R's source).
    """
    d = np.asarray(d, dtype=np.float64)
    zeros = bool(np.any(d == 0))
    x = d[d != 0]
    n = len(x)
    if n == 0:
        reason = "no patient" if len(d) == 0 else f"all {len(d)} improvements are zero"
        return SignedRankTest(None, None, None, 0, (f"{reason}: the signed-rank test needs a non-zero difference",))
    ranks = sps.rankdata(np.abs(x))
    _, tie_sizes = np.unique(ranks, return_counts=True)
    ties = len(tie_sizes) != n
    statistic = float(np.sum(ranks[x > 0]))
    if n < EXACT_LIMIT and not ties and not zeros:
        v = int(round(statistic))
        if statistic > n * (n + 1) / 4:
            tail = float(np.sum(_signrank_counts(n)[v:]) / 2.0**n)  # P(V' >= V), summed, not 1 - cdf
        else:
            tail = signrank_cdf(v, n)
        return SignedRankTest(statistic, float(min(1.0, 2 * tail)), "exact", n)
    z = statistic - n * (n + 1) / 4
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(tie_sizes.astype(float) ** 3 - tie_sizes) / 48)
    z = (z - np.sign(z) * 0.5) / sigma
    p = 2 * min(sps.norm.cdf(z), sps.norm.sf(z))
    return SignedRankTest(statistic, float(p), "normal", n)


def signrank_cdf(q: int, n: int) -> float:
    """P(V <= q) for the signed-rank statistic of ``n`` untied non-zero differences (R's ``psignrank``)."""
    counts = _signrank_counts(n)
    if q < 0:
        return 0.0
    return float(np.sum(counts[: q + 1]) / 2.0**n)


@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> np.ndarray:
    """How many of the 2^n sign patterns give each V = 0 .. n(n+1)/2 (exact in float64 for n < 53)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k]
    counts.setflags(write=False)
    return counts
