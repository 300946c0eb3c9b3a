"""Linear mixed model with a random intercept per patient, fitted exactly by REML in O(N) time.

The general-purpose fitters (``lme4::lmer``, statsmodels ``MixedLM``) handle any random-effects
structure and pay for it with sparse or per-group linear algebra at every iteration. A single random
intercept gives each patient a compound-symmetric covariance block, so the whole REML criterion
depends on the data only through a handful of per-group sums. We compute them once (one pass over the
rows), after which every evaluation of the criterion costs O(K p^2), K being the number of distinct
group sizes (at most 7 in a study with baseline plus six follow-ups), independent of the row count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from ..domain.errors import DomainError

__all__ = ["RandomInterceptFit", "fit_random_intercept"]

# Candidate variance ratios lambda = sigma_u^2 / sigma_e^2 scanned before the local refinement:
# zero (the boundary lme4 reports as a singular fit) and 10^-8 .. 10^12, four points per decade.
_LAMBDA_GRID = np.concatenate([[0.0], np.logspace(-8.0, 12.0, 81)])
# A design column whose squared correlation with the columns before it exceeds 1 - this is refused.
_COLLINEARITY_TOLERANCE = 1e-10
# A least-squares residual sum of squares at most this share of y'y is an exact fit: the normal
# equations resolve y'y only to a few multiples of machine epsilon, so below this the variances
# would be rounding noise (or the Cholesky factorisation fails outright).
_EXACT_FIT_TOLERANCE = 1e-10


@dataclass(frozen=True)
class RandomInterceptFit:
    """Result of :func:`fit_random_intercept`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        Index: the design column names. Columns ``estimate`` (fixed effect beta, the generalised least
        squares estimate at the REML variances) and ``se`` (square root of the diagonal of
        ``sigma_e^2 (X' V^-1 X)^-1``, as lme4's ``vcov``).
    patient_variance : float
        sigma_u^2, the between-patient variance of the random intercept (lme4's ``VarCorr``); ``0.0``
        when the REML estimate is on the boundary (lme4 calls that a singular fit).
    residual_variance : float
        sigma_e^2, the within-patient residual variance (lme4's ``sigma(fit)^2``).
    n_observations : int
        Rows used.
    n_groups : int
        Distinct patients (levels of ``groups``).
    reml_criterion : float
        ``-2`` times the maximised restricted log-likelihood, as lme4's ``REMLcrit``.
    """

    coefficients: pd.DataFrame
    patient_variance: float
    residual_variance: float
    n_observations: int
    n_groups: int
    reml_criterion: float


@dataclass(frozen=True)
class _SufficientStatistics:
    """What the REML criterion needs from the data, for Z = [X | y] (q = p + 1 columns).

    ``within`` is sum_i (Z_i - 1 zbar_i')'(Z_i - 1 zbar_i), the pooled within-group cross-product.
    ``between[k]`` is sum over groups of size ``sizes[k]`` of s_i s_i', s_i = Z_i' 1 the group sums.
    """

    within: np.ndarray  # (q, q)
    sizes: np.ndarray  # (K,) distinct group sizes, float
    size_counts: np.ndarray  # (K,) how many groups have each size
    between: np.ndarray  # (K, q, q)
    n_observations: int
    n_groups: int
    n_fixed: int

    def crossproduct(self, lam: float) -> np.ndarray:
        """M(lambda) = sigma_e^2 [X y]' V^-1 [X y]  =  within + sum_k between_k / (n_k (1 + n_k lambda))."""
        weights = 1.0 / (self.sizes * (1.0 + self.sizes * lam))
        return self.within + np.tensordot(weights, self.between, axes=1)


def fit_random_intercept(
    y: np.ndarray,
    X: np.ndarray,
    groups: np.ndarray,
    *,
    column_names: list[str],
) -> RandomInterceptFit:
    r"""Fit ``y = X beta + u[group] + e`` by REML, with ``u ~ N(0, sigma_u^2)``, ``e ~ N(0, sigma_e^2)``.

    Gives the same estimates as ``lme4::lmer(y ~ X - 1 + (1 | group), REML = TRUE)``.

    Parameters
    ----------
    y : numpy.ndarray, shape (n,)
        Response (e.g. the follow-up pain score).
    X : numpy.ndarray, shape (n, p)
        Fixed-effects design matrix, intercept column included. Must have full column rank.
    groups : numpy.ndarray, shape (n,)
        Group (patient) label of each row; any hashable values.
    column_names : list of str
        Names of the ``p`` columns of ``X``; they index the returned coefficient table.

    Returns
    -------
    RandomInterceptFit

    Raises
    ------
    DomainError
        On missing or non-finite values, mismatched lengths, a rank-deficient ``X`` (naming the first
        column that is a linear combination of the ones before it), fewer rows than parameters, a
        single group, or no group with more than one row (then the two variances are not identified);
        when the fixed effects alone reproduce every response (a zero least-squares residual, so there
        is no variance left to split between patients and residual); or when the responses do not vary
        within patients beyond the fixed effects (the residual variance would be zero).

    Notes
    -----
    Group *i* has ``n_i`` rows and covariance ``V_i = sigma_e^2 (I + lambda 1 1')`` with the variance
    ratio ``lambda = sigma_u^2 / sigma_e^2``, so ``V_i^{-1} = sigma_e^{-2}(I - w_i 1 1')`` with
    ``w_i = lambda / (1 + n_i lambda)`` and ``log|V_i| = n_i log sigma_e^2 + log(1 + n_i lambda)``
    (Harville 1977; Laird & Ware 1982). Write ``Z = [X | y]``, ``s_i = Z_i' 1`` for the group sums and
    ``W = sum_i (Z_i - 1 zbar_i')'(Z_i - 1 zbar_i)`` for the pooled within-group cross-products. Then

    .. math::

        M(\lambda) = \sigma_e^2 Z' V^{-1} Z
                   = W + \sum_i \frac{s_i s_i'}{n_i (1 + n_i \lambda)},

    a sum of positive semi-definite terms (no cancellation), and its Cholesky factor
    ``[[R_X, 0], [r_Xy', r_y]]`` gives ``A = R_X R_X' = sigma_e^2 X'V^{-1}X``, the GLS estimate
    ``beta = R_X^{-T} r_Xy`` and the penalised residual sum of squares ``r = r_y^2``. Profiling
    ``sigma_e^2 = r / (n - p)`` out of the restricted likelihood leaves one dimension:

    .. math::

        -2 \ell_R(\lambda) = (n - p)\left[1 + \log\frac{2\pi r(\lambda)}{n - p}\right]
                             + \sum_i \log(1 + n_i \lambda) + \log|A(\lambda)|,

    which is lme4's REML criterion with ``theta^2 = lambda`` (Bates, Maechler, Bolker & Walker 2015,
    eq. 42). The terms depend on the data only through ``W`` and, for each distinct group size
    ``n_k``, ``sum_{i: n_i = n_k} s_i s_i'``, computed once in a single pass. The criterion is scanned
    on a grid of ``lambda`` (zero included), and the best grid interval is refined by a Brent root
    search on the analytic derivative

    .. math::

        \frac{d(-2\ell_R)}{d\lambda} = (n - p - 1)\frac{r'}{r} + \mathrm{tr}(M^{-1} M')
                                        + \sum_i \frac{n_i}{1 + n_i \lambda},
        \quad M' = -\sum_i \frac{s_i s_i'}{(1 + n_i \lambda)^2},
        \quad r' = r^2\, e_y' M^{-1} M' M^{-1} e_y

    (``log|A| = log|M| - log r``). When the criterion increases from ``lambda = 0`` the patient
    variance is reported as exactly zero, as lme4 does for a singular fit. Finally
    ``sigma_u^2 = lambda sigma_e^2`` and ``Var(beta) = sigma_e^2 A^{-1}``.

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using lme4.
    Journal of Statistical Software 67(1):1-48. doi:10.18637/jss.v067.i01

    Harville DA (1977). Maximum likelihood approaches to variance component estimation and to related
    problems. Journal of the American Statistical Association 72(358):320-338.

    Laird NM, Ware JH (1982). Random-effects models for longitudinal data. Biometrics 38(4):963-974.
    """
    y, X, codes, n_groups = _validated(y, X, groups, column_names)
    stats = _sufficient_statistics(y, X, codes, n_groups)
    _refuse_rank_deficiency(stats.crossproduct(0.0)[:-1, :-1], column_names)
    _refuse_exact_fit(stats.crossproduct(0.0))

    lam = _reml_variance_ratio(stats)
    return _fit_at(stats, lam, column_names)


def _validated(
    y: np.ndarray, X: np.ndarray, groups: np.ndarray, column_names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if y.ndim != 1:
        raise DomainError("y", f"shape {y.shape}", "the response must be one-dimensional")
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise DomainError(
            "X", f"shape {X.shape}", f"the design must be a matrix with {y.shape[0]} rows, one per response"
        )
    if X.shape[1] == 0:
        raise DomainError("X", "no columns", "the design needs at least one column (usually the intercept)")
    if len(column_names) != X.shape[1]:
        raise DomainError(
            "column_names", list(column_names), f"one name is needed per design column ({X.shape[1]})"
        )
    _refuse_non_finite("y", y)
    finite_columns = np.isfinite(X).all(axis=0)
    for j in np.flatnonzero(~finite_columns):
        _refuse_non_finite(column_names[j], X[:, j])

    groups = np.asarray(groups)
    if groups.shape != y.shape:
        raise DomainError("groups", f"shape {groups.shape}", f"one group label is needed per row ({y.shape[0]})")
    codes, levels = pd.factorize(groups)
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise DomainError("groups", None, f"every row needs a group label; row {missing[0]} (counting from 0) has none")

    n, p = X.shape
    n_groups = len(levels)
    if n <= p:
        raise DomainError("y", f"{n} rows", f"more rows than fixed effects ({p}) are needed")
    if n_groups < 2:
        raise DomainError("groups", f"{n_groups} group", "a random intercept needs at least two groups")
    if n_groups == n:
        raise DomainError(
            "groups",
            f"{n_groups} groups for {n} rows",
            "every group has a single row, so patient and residual variance cannot be told apart",
        )
    return y, X, codes, n_groups


def _refuse_non_finite(name: str, values: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DomainError(
            name,
            values[bad[0]],
            f"values must be finite numbers; row {bad[0]} (counting from 0) is missing or infinite",
        )


def _sufficient_statistics(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int
) -> _SufficientStatistics:
    n, p = X.shape
    Z = np.empty((n, p + 1))
    Z[:, :p] = X
    Z[:, p] = y
    counts = np.bincount(codes, minlength=n_groups)
    sums = np.empty((n_groups, p + 1))
    for j in range(p + 1):
        sums[:, j] = np.bincount(codes, weights=Z[:, j], minlength=n_groups)
    # Centring within groups before the cross-product keeps W accurate when a column is constant
    # within patients (baseline, age, sex, etiology): its within part is then zero up to rounding,
    # instead of the difference of two large sums.
    Z -= (sums / counts[:, None])[codes]
    within = Z.T @ Z

    sizes, size_index, size_counts = np.unique(counts, return_inverse=True, return_counts=True)
    between = np.empty((len(sizes), p + 1, p + 1))
    for k in range(len(sizes)):
        s_k = sums[size_index == k]
        between[k] = s_k.T @ s_k
    return _SufficientStatistics(
        within=within,
        sizes=sizes.astype(np.float64),
        size_counts=size_counts.astype(np.float64),
        between=between,
        n_observations=n,
        n_groups=n_groups,
        n_fixed=p,
    )


def _refuse_rank_deficiency(xtx: np.ndarray, column_names: list[str]) -> None:
    """Name the first column of X that lies (numerically) in the span of the columns before it."""
    norms = np.sqrt(np.diag(xtx))
    for j, name in enumerate(column_names):
        if norms[j] == 0.0:
            raise DomainError(name, "all zeros", "a design column must not be identically zero")
    correlation = xtx / np.outer(norms, norms)
    for j, name in enumerate(column_names[1:], start=1):
        head = correlation[:j, :j]
        cross = correlation[:j, j]
        unexplained = 1.0 - cross @ np.linalg.solve(head, cross)
        if unexplained < _COLLINEARITY_TOLERANCE:
            raise DomainError(
                name,
                "design column",
                "the design matrix is rank-deficient: this column is a linear combination of "
                f"{', '.join(column_names[:j])}; drop it or merge the categories that cause it",
            )


def _refuse_exact_fit(total: np.ndarray) -> None:
    """Refuse a response the fixed effects fit exactly; ``total`` is ``[X y]'[X y]`` (``M(0)``).

    The last diagonal entry of its Cholesky factor, squared, is the ordinary least-squares residual sum
    of squares. When it vanishes the REML criterion has no finite minimum (both variances go to zero)
    and every ``M(lambda)`` is singular.
    """
    try:
        residual = linalg.cholesky(total, lower=True, check_finite=False)[-1, -1] ** 2
    except linalg.LinAlgError:  # X passed the rank check, so the singular direction involves y
        residual = 0.0
    if residual <= _EXACT_FIT_TOLERANCE * total[-1, -1]:
        raise DomainError(
            "y",
            f"residual sum of squares {residual:.3g}",
            "the fixed effects reproduce every response exactly (zero least-squares residual), so there is "
            "no variation left to split into patient and residual variance",
        )


def _criterion(stats: _SufficientStatistics, lam: float) -> float:
    """-2 times the profiled restricted log-likelihood at variance ratio ``lam`` (lme4's REMLcrit)."""
    factor = linalg.cholesky(stats.crossproduct(lam), lower=True, check_finite=False)
    r = factor[-1, -1] ** 2
    log_det_m = 2.0 * np.sum(np.log(np.diag(factor)))
    dof = stats.n_observations - stats.n_fixed
    return (
        dof * (1.0 + np.log(2.0 * np.pi / dof))
        + (dof - 1) * np.log(r)
        + log_det_m
        + np.dot(stats.size_counts, np.log1p(stats.sizes * lam))
    )


def _criterion_slope(stats: _SufficientStatistics, lam: float) -> float:
    """d criterion / d lambda, from the closed form in :func:`fit_random_intercept`'s notes."""
    m = stats.crossproduct(lam)
    dm = -np.tensordot(1.0 / (1.0 + stats.sizes * lam) ** 2, stats.between, axes=1)
    m_inv = linalg.cho_solve(linalg.cho_factor(m, lower=True, check_finite=False), np.eye(len(m)))
    v = m_inv[:, -1]
    r = 1.0 / v[-1]
    dr = r * r * (v @ dm @ v)
    dof = stats.n_observations - stats.n_fixed
    return (
        (dof - 1) * dr / r
        + np.sum(m_inv * dm)
        + np.dot(stats.size_counts, stats.sizes / (1.0 + stats.sizes * lam))
    )


def _reml_variance_ratio(stats: _SufficientStatistics) -> float:
    values = np.array([_criterion(stats, lam) for lam in _LAMBDA_GRID])
    best = int(np.argmin(values))
    if best == len(_LAMBDA_GRID) - 1:
        raise DomainError(
            "y",
            "within-patient variation",
            "the residual variance is estimated at zero (responses do not vary within patients)",
        )
    low = _LAMBDA_GRID[max(best - 1, 0)]
    high = _LAMBDA_GRID[best + 1]
    slope_low = _criterion_slope(stats, low)
    if best == 0 and slope_low >= 0.0:
        return 0.0  # the criterion rises away from the boundary: singular fit, sigma_u^2 = 0
    if slope_low >= 0.0 or _criterion_slope(stats, high) <= 0.0:
        # Not a clean bracket of a stationary point (flat criterion); minimise the value instead.
        result = optimize.minimize_scalar(
            lambda lam: _criterion(stats, lam), bounds=(low, high), method="bounded", options={"xatol": 1e-12 * high}
        )
        return float(result.x)
    return float(
        optimize.brentq(lambda lam: _criterion_slope(stats, lam), low, high, xtol=1e-14 * high, rtol=1e-14)
    )


def _fit_at(stats: _SufficientStatistics, lam: float, column_names: list[str]) -> RandomInterceptFit:
    factor = linalg.cholesky(stats.crossproduct(lam), lower=True, check_finite=False)
    r_x = factor[:-1, :-1]
    r_xy = factor[-1, :-1]
    r = factor[-1, -1] ** 2
    dof = stats.n_observations - stats.n_fixed
    residual_variance = r / dof
    beta = linalg.solve_triangular(r_x, r_xy, lower=True, trans="T", check_finite=False)
    r_x_inv = linalg.solve_triangular(r_x, np.eye(stats.n_fixed), lower=True, check_finite=False)
    se = np.sqrt(residual_variance * np.sum(r_x_inv**2, axis=0))
    coefficients = pd.DataFrame({"estimate": beta, "se": se}, index=pd.Index(list(column_names)))
    return RandomInterceptFit(
        coefficients=coefficients,
        patient_variance=float(lam * residual_variance),
        residual_variance=float(residual_variance),
        n_observations=stats.n_observations,
        n_groups=stats.n_groups,
        reml_criterion=float(_criterion(stats, lam)),
    )
