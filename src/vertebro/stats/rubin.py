"""Rubin's rules: one estimate and its uncertainty from the analyses of m completed data sets.

Written out, as ``mice::pool`` computes them for a scalar estimate, so that every piece (within,
between and total variance, the Barnard–Rubin degrees of freedom) is visible in the contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

__all__ = ["PooledEstimate", "rubin_pool"]

#: ``mice:::barnard.rubin`` raises lambda to this before computing the degrees of freedom.
_LAMBDA_FLOOR = 1e-4


@dataclass(frozen=True)
class PooledEstimate:
    """A scalar estimate pooled over m imputations (``summary(pool(fit))`` and ``pool(fit)$pooled``).

    Attributes
    ----------
    estimate : float
        ``Qbar = (1/m) sum Q_l``, the mean of the m estimates.
    within_variance : float
        ``Ubar = (1/m) sum U_l``, the mean of the m squared standard errors (mice's ``ubar``).
    between_variance : float
        ``B = (1/(m-1)) sum (Q_l - Qbar)^2`` (mice's ``b``).
    total_variance : float
        ``T = Ubar + (1 + 1/m) B`` (mice's ``t``).
    se : float
        ``sqrt(T)``.
    df : float
        Barnard–Rubin (1999) degrees of freedom (mice's ``df``), see :func:`rubin_pool`.
    ci_low, ci_high : float
        ``Qbar -/+ t(0.975, df) se``.
    p : float
        Two-sided p-value of ``Qbar / se`` on ``df`` degrees of freedom.
    riv : float
        Relative increase in variance due to nonresponse, ``(1 + 1/m) B / Ubar``.
    lambda_ : float
        Proportion of the total variance due to the missing data, ``(1 + 1/m) B / T``.
    fmi : float
        Fraction of missing information, ``(riv + 2/(df + 3)) / (1 + riv)``.
    m : int
        Number of imputations.
    dfcom : float
        Degrees of freedom of the complete-data analysis (``n - k`` for a linear model).
    """

    estimate: float
    within_variance: float
    between_variance: float
    total_variance: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p: float
    riv: float
    lambda_: float
    fmi: float
    m: int
    dfcom: float


def rubin_pool(estimates: np.ndarray, variances: np.ndarray, dfcom: float) -> PooledEstimate:
    r"""Pool m estimates ``Q_l`` and their variances ``U_l`` by Rubin's rules.

    .. math::

        \bar Q = \frac1m\sum_l Q_l,\quad \bar U = \frac1m\sum_l U_l,\quad
        B = \frac1{m-1}\sum_l (Q_l-\bar Q)^2,\quad T = \bar U + (1+\tfrac1m)B,

    with ``lambda = (1 + 1/m) B / T`` and the Barnard–Rubin degrees of freedom

    .. math::

        \nu_{old} = \frac{m-1}{\lambda^2},\quad
        \nu_{obs} = \frac{\nu_{com}+1}{\nu_{com}+3}\,\nu_{com}(1-\lambda),\quad
        \nu = \frac{\nu_{old}\,\nu_{obs}}{\nu_{old}+\nu_{obs}}

    where, as ``mice:::barnard.rubin`` does, ``lambda`` below ``1e-4`` counts as ``1e-4`` in ``nu``
    (so that ``B = 0`` gives a finite ``nu`` close to ``nu_obs``).

    References
    ----------
    Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley, New York.
    Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
    Biometrika 86(4):948-955.
    van Buuren S (2018). Flexible Imputation of Missing Data, 2nd ed., sections 5.2-5.3.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    variances = np.asarray(variances, dtype=np.float64)
    m = len(estimates)
    if m < 2 or len(variances) != m:
        raise ValueError(f"Rubin's rules need at least two imputations with one variance each (got {m}, {len(variances)})")
    qbar = float(np.mean(estimates))
    ubar = float(np.mean(variances))
    b = float(np.var(estimates, ddof=1))
    t = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    bounded = max(lam, _LAMBDA_FLOOR)
    df_old = (m - 1) / bounded**2
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - bounded)
    df = df_old * df_obs / (df_old + df_obs)
    riv = (1 + 1 / m) * b / ubar
    se = float(np.sqrt(t))
    half = float(sps.t.ppf(0.975, df)) * se
    p = float(2 * sps.t.sf(abs(qbar / se), df))
    fmi = (riv + 2 / (df + 3)) / (1 + riv)
    return PooledEstimate(qbar, ubar, b, t, se, float(df), qbar - half, qbar + half, p, riv, lam, fmi, m, float(dfcom))
