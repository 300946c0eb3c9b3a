"""Between-group comparisons of improvement: Welch t, Mann-Whitney, ANCOVA, responder proportions.

Every difference is osteoporotic minus pathologic, so a positive value means the osteoporotic group
improved more. Functions return frozen dataclasses whose ``None`` fields come with ``notes`` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import linalg
from scipy import stats as sps

__all__ = [
    "Ancova",
    "RankSumTest",
    "ResponderDifference",
    "WelchTest",
    "ancova",
    "fisher_exact_p",
    "rank_sum_test",
    "responder_difference",
    "welch_test",
    "wilson_interval",
]

EXACT_LIMIT = 50
_CONSTANT_TOLERANCE = 10 * np.finfo(float).eps
#: R's ``fisher.test`` counts tables whose probability is within this factor of the observed one as
#: "as extreme", so that floating-point noise cannot drop a table of equal probability.
_FISHER_RELATIVE_ERROR = 1 + 1e-7
#: Column pivoting tolerance of R's ``lm`` (``qr(..., tol = 1e-07)``).
_ALIAS_TOLERANCE = 1e-7
#: A column whose unexplained share of norm exceeds this is kept without the exact QR check.
_CLEARLY_INDEPENDENT = 1e-3
_Z975 = float(sps.norm.ppf(0.975))
#: A residual sum of squares below this share of the sum of squares of ``[X | y]`` is the rounding
#: noise of an exact fit (Householder QR leaves a residual of a few eps times that norm).
_PERFECT_FIT = 1e-24


@dataclass(frozen=True)
class WelchTest:
    """Welch two-sample t-test of mean(x) - mean(y), as R's ``t.test(x, y)``.

    Attributes
    ----------
    difference : float or None
        mean(x) - mean(y).
    ci_low, ci_high : float or None
        95% interval, ``difference -/+ t(0.975, df) se``.
    p : float or None
        Two-sided p-value.
    df : float or None
        Welch-Satterthwaite degrees of freedom.
    notes : tuple of str
    """

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    df: float | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankSumTest:
    """Wilcoxon rank-sum (Mann-Whitney) test, as R's ``wilcox.test(x, y)``.

    Attributes
    ----------
    statistic : float or None
        W = sum of the ranks of x - n_x (n_x + 1) / 2.
    p : float or None
        Two-sided p-value.
    method : str or None
        ``"exact"`` or ``"normal"``.
    notes : tuple of str
    """

    statistic: float | None
    p: float | None
    method: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ancova:
    """Adjusted difference in improvement from an OLS model of the follow-up score.

    Attributes
    ----------
    difference, ci_low, ci_high, p : float or None
        The pathologic coefficient of ``followup ~ etiology + baseline + age + sex`` with its 95% t
        interval and two-sided p. With baseline in the model, a higher adjusted follow-up score is an
        equally smaller adjusted improvement, so this coefficient is osteoporotic minus pathologic
        improvement.
    n : int
        Patients in the model.
    dropped : tuple of str
        Covariates left out because they were constant or collinear (as R's ``lm`` reports NA).
    notes : tuple of str
    """

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int
    dropped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponderDifference:
    """Difference of two independent proportions with Newcombe's hybrid score interval and Fisher's test.

    Attributes
    ----------
    difference : float or None
        r1/n1 - r2/n2.
    ci_low, ci_high : float or None
        Newcombe (1998) method 10 95% interval (Wilson score limits, no continuity correction).
    fisher_p : float or None
        Two-sided Fisher exact p-value of the 2 x 2 table.
    notes : tuple of str
    """

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    fisher_p: float | None
    notes: tuple[str, ...] = ()


def welch_test(x: np.ndarray, y: np.ndarray) -> WelchTest:
    r"""Welch's unequal-variance t-test and interval for mean(x) - mean(y).

    .. math::

        se = \sqrt{s_x^2/n_x + s_y^2/n_y},\qquad
        \nu = \frac{se^4}{(s_x^2/n_x)^2/(n_x-1) + (s_y^2/n_y)^2/(n_y-1)},

    ``t = (xbar - ybar)/se`` on ``nu`` degrees of freedom; refused (None) like R for fewer than two
    values in a group or an essentially constant pair of samples.

    References
    ----------
    Welch BL (1947). The generalization of "Student's" problem when several different population
    variances are involved. Biometrika 34(1-2):28-35.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return WelchTest(
            _mean_difference(x, y), None, None, None, None,
            (f"the Welch t-test needs two patients per group (osteoporotic {len(x)}, pathologic {len(y)})",),
        )
    mx, my = float(np.mean(x)), float(np.mean(y))
    vx, vy = float(np.var(x, ddof=1)) / len(x), float(np.var(y, ddof=1)) / len(y)
    se = np.sqrt(vx + vy)
    if se == 0 or se < _CONSTANT_TOLERANCE * max(abs(mx), abs(my)):
        return WelchTest(mx - my, None, None, None, None, ("zero variance in both groups: the Welch t-test does not exist",))
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    t = (mx - my) / se
    half = sps.t.ppf(0.975, df) * se
    return WelchTest(mx - my, mx - my - half, mx - my + half, float(2 * sps.t.sf(abs(t), df)), float(df))


def rank_sum_test(x: np.ndarray, y: np.ndarray) -> RankSumTest:
    r"""Two-sided Wilcoxon rank-sum test with R's ``wilcox.test(x, y)`` defaults.

    ``W = sum(rank(c(x, y))[x]) - n_x (n_x + 1)/2``. Exact when ``n_x < 50``, ``n_y < 50`` and there are no
    ties: ``p = min(1, 2 P(W' >= W))`` if W lies above ``n_x n_y / 2``, else ``min(1, 2 P(W' <= W))``.
    Otherwise the normal approximation with continuity and tie correction:

    .. math::

        z = \frac{W - n_x n_y/2 - \tfrac12\operatorname{sign}(W - n_x n_y/2)}
                 {\sqrt{\frac{n_x n_y}{12}\left(n_x + n_y + 1 - \frac{\sum_j (t_j^3 - t_j)}{(n_x+n_y)(n_x+n_y-1)}\right)}}.

    References
    ----------
    Mann HB, Whitney DR (1947). On a test of whether one of two random variables is stochastically
    larger than the other. Annals of Mathematical Statistics 18(1):50-60.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    nx, ny = len(x), len(y)
    if nx == 0 or ny == 0:
        return RankSumTest(None, None, None, (f"the Mann-Whitney test needs both groups (osteoporotic {nx}, pathologic {ny})",))
    ranks = sps.rankdata(np.concatenate([x, y]))
    statistic = float(np.sum(ranks[:nx]) - nx * (nx + 1) / 2)
    _, tie_sizes = np.unique(ranks, return_counts=True)
    if nx < EXACT_LIMIT and ny < EXACT_LIMIT and len(tie_sizes) == nx + ny:
        counts = _rank_sum_counts(nx, ny)
        w = int(round(statistic))
        if statistic > nx * ny / 2:
            tail = np.sum(counts[w:])
        else:
            tail = np.sum(counts[: w + 1])
        return RankSumTest(statistic, float(min(1.0, 2 * tail / np.sum(counts))), "exact")
    z = statistic - nx * ny / 2
    n = nx + ny
    sigma = np.sqrt((nx * ny / 12) * ((n + 1) - np.sum(tie_sizes.astype(float) ** 3 - tie_sizes) / (n * (n - 1))))
    if sigma == 0:
        return RankSumTest(statistic, None, "normal", ("every improvement is the same value: the Mann-Whitney test does not exist",))
    z = (z - np.sign(z) * 0.5) / sigma
    return RankSumTest(statistic, float(2 * min(sps.norm.cdf(z), sps.norm.sf(z))), "normal")


@lru_cache(maxsize=256)
def _rank_sum_counts(m: int, n: int) -> np.ndarray:
    """How many of the C(m+n, m) arrangements give each W = 0 .. m n (R's ``dwilcox`` times the total).

    Uses ``c(w; m, n) = c(w - n; m - 1, n) + c(w; m, n - 1)`` (the largest observation is an x, beating
    all n y's, or a y), additions only, so float64 keeps full relative precision.
    """
    previous = [np.ones(1) for _ in range(m + 1)]  # c(.; i, 0) = [1]
    for j in range(1, n + 1):
        current = [np.ones(1)]  # c(.; 0, j) = [1]
        for i in range(1, m + 1):
            counts = np.zeros(i * j + 1)
            counts[j : j + len(current[i - 1])] += current[i - 1]
            counts[: len(previous[i])] += previous[i]
            current.append(counts)
        previous = current
    result = previous[m]
    result.setflags(write=False)
    return result


def ancova(data: pd.DataFrame) -> Ancova:
    r"""OLS of the follow-up score on etiology, baseline score, age and sex.

    ``followup = b0 + b1 [pathologic] + b2 baseline + b3 age + b4 [M] + e`` (reference levels osteoporotic
    and F). Because improvement = baseline - followup and baseline is in the model, ``b1`` is also the
    adjusted osteoporotic-minus-pathologic difference in improvement (Vickers & Altman 2001). Columns that
    are constant or collinear with earlier ones are dropped in model order, as R's ``lm`` does.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient with columns ``followup``, ``baseline``, ``age`` (numbers), ``etiology``
        (``osteoporotic``/``pathologic``) and ``sex`` (``F``/``M``).

    Notes
    -----
    Least squares by the Householder QR decomposition of ``[X | y]`` (as R's ``lm``): its upper
    triangle is ``[[R, Q'y], [0, r]]``, so ``b = R^{-1} Q'y``, the residual sum of squares is ``r^2``,
    ``s^2 = r^2 / (n - k)`` and ``Var(b) = s^2 R^{-1} R^{-T}``. The interval is ``b1 -/+ t(0.975, n - k)
    se(b1)`` and the p-value two-sided from ``t = b1 / se(b1)`` on ``n - k`` degrees of freedom.

    References
    ----------
    Vickers AJ, Altman DG (2001). Analysing controlled trials with baseline and follow up measurements.
    BMJ 323:1123-1124.
    """
    n = len(data)
    names = ["intercept", "pathologic", "baseline", "age", "sex_M"]
    y = data["followup"].to_numpy(float)
    augmented = np.column_stack(
        [
            np.ones(n),
            (data["etiology"] == "pathologic").to_numpy(float),
            data["baseline"].to_numpy(float),
            data["age"].to_numpy(float),
            (data["sex"] == "M").to_numpy(float),
            y,
        ]
    ) if n else np.zeros((0, 6))
    triangle = np.linalg.qr(augmented, mode="r") if n else np.zeros((0, 6))
    kept = _kept_columns(augmented[:, :-1], triangle[:, :-1], names)
    dropped = tuple(name for name in names if name not in kept)
    notes = [f"ANCOVA: {name} is constant or collinear among these patients and was left out" for name in dropped if name != "pathologic"]
    if "pathologic" not in kept:
        notes.append("ANCOVA needs patients of both etiologies")
        return Ancova(None, None, None, None, n, dropped, tuple(notes))
    k = len(kept)
    if n <= k:
        notes.append(f"ANCOVA needs more patients ({n}) than model coefficients ({k})")
        return Ancova(None, None, None, None, n, dropped, tuple(notes))
    if dropped:
        augmented = augmented[:, [*(names.index(name) for name in kept), len(names)]]
        triangle = np.linalg.qr(augmented, mode="r")
    r_x, q_y, residual = triangle[:k, :k], triangle[:k, k], triangle[k, k]
    estimates = linalg.solve_triangular(r_x, q_y)
    column = kept.index("pathologic")
    estimate = float(estimates[column])
    rss = float(residual**2)
    if rss <= _PERFECT_FIT * float(np.sum(augmented**2)):
        notes.append("ANCOVA fits every follow-up score exactly (zero residual variance): no interval or p-value")
        return Ancova(estimate, None, None, None, n, dropped, tuple(notes))
    dof = n - k
    r_inverse = linalg.solve_triangular(r_x, np.eye(k))
    se = float(np.sqrt(rss / dof * np.sum(r_inverse[column] ** 2)))
    half = float(sps.t.ppf(0.975, dof)) * se
    p = float(2 * sps.t.sf(abs(estimate / se), dof))
    return Ancova(estimate, estimate - half, estimate + half, p, n, dropped, tuple(notes))


def full_rank_columns(design: np.ndarray, names: list[str]) -> list[str]:
    """Names of the columns kept when each column collinear with the columns before it is dropped.

    A column is dropped when the part of it not explained by the columns before it (the diagonal of R in
    the Householder QR decomposition) has a norm at most ``1e-7`` times its own norm, R's ``lm`` rule;
    an all-zero column is always dropped.
    """
    if design.shape[0] == 0:
        return []
    if _clearly_full_rank(design):
        return list(names)
    return _kept_columns(design, np.linalg.qr(design, mode="r"), names)


def _clearly_full_rank(design: np.ndarray) -> bool:
    """True when no column comes anywhere near R's 1e-7 aliasing rule: a cheap answer for the usual case.

    The Cholesky factor of the cross-product scaled to unit diagonal has ``|R_jj| / ||x_j||`` on its
    diagonal, the same ratios as the QR decomposition, with an error of a few machine epsilons in their
    squares. Above 1e-3 (a squared ratio of 1e-6) no rounding can carry a ratio to 1e-7, so the QR of
    all rows is needed only for designs that come closer (and then decides).
    """
    cross = design.T @ design
    norms = np.sqrt(np.diag(cross))
    if not np.all(norms > 0):
        return False
    try:
        factor = linalg.cholesky(cross / np.outer(norms, norms), lower=True, check_finite=False)
    except linalg.LinAlgError:
        return False
    return bool(np.all(np.abs(np.diag(factor)) > _CLEARLY_INDEPENDENT))


def _kept_columns(design: np.ndarray, triangle: np.ndarray, names: list[str]) -> list[str]:
    """:func:`full_rank_columns` given ``triangle``, the R factor of ``design`` (or of more columns)."""
    if design.shape[0] == 0:
        return []
    norms = np.linalg.norm(design, axis=0)
    unexplained = np.zeros(design.shape[1])
    diagonal = np.abs(np.diag(triangle))[: design.shape[1]]
    unexplained[: len(diagonal)] = diagonal
    return [name for name, norm, rest in zip(names, norms, unexplained) if norm > 0 and rest > _ALIAS_TOLERANCE * norm]


def wilson_interval(successes: int, n: int, z: float = _Z975) -> tuple[float, float]:
    r"""Wilson score interval for a proportion, without continuity correction.

    .. math:: \frac{r + z^2/2 \mp z\sqrt{r(n-r)/n + z^2/4}}{n + z^2}

    References
    ----------
    Wilson EB (1927). Probable inference, the law of succession, and statistical inference. JASA 22:209-212.
    """
    center = successes + z * z / 2
    half = z * np.sqrt(successes * (n - successes) / n + z * z / 4)
    return float((center - half) / (n + z * z)), float((center + half) / (n + z * z))


def responder_difference(r1: int, n1: int, r2: int, n2: int) -> ResponderDifference:
    r"""Difference ``r1/n1 - r2/n2`` with Newcombe's hybrid score interval and Fisher's exact p.

    With Wilson limits ``(l_i, u_i)`` of each proportion and ``d = p_1 - p_2``:

    .. math::

        L = d - \sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2},\qquad
        U = d + \sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}.

    References
    ----------
    Newcombe RG (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17:873-890 (method 10).
    """
    if n1 == 0 or n2 == 0:
        return ResponderDifference(
            None, None, None, None,
            (f"responder comparison needs evaluable patients (baseline > 0) in both groups (osteoporotic {n1}, pathologic {n2})",),
        )
    p1, p2 = r1 / n1, r2 / n2
    l1, u1 = wilson_interval(r1, n1)
    l2, u2 = wilson_interval(r2, n2)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return ResponderDifference(float(d), float(low), float(high), fisher_exact_p(r1, n1 - r1, r2, n2 - r2))


def fisher_exact_p(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p-value of the table ``[[a, b], [c, d]]``, as R's ``fisher.test``.

    Sums the hypergeometric probabilities (margins fixed) of every table no more probable than the
    observed one, allowing a relative error of 1e-7 as R does.

    References
    ----------
    Fisher RA (1935). The logic of inductive inference. JRSS 98(1):39-82.
    """
    row1, col1, total = a + b, a + c, a + b + c + d
    low, high = max(0, col1 - (total - row1)), min(row1, col1)
    support = np.arange(low, high + 1)
    log_p = sps.hypergeom.logpmf(support, total, row1, col1)
    density = np.exp(log_p - log_p.max())
    density /= density.sum()
    observed = density[a - low]
    return float(min(1.0, density[density <= observed * _FISHER_RELATIVE_ERROR].sum()))


def _mean_difference(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) == 0 or len(y) == 0:
        return None
    return float(np.mean(x) - np.mean(y))
