"""Benchmarking of sites by funnel plots (Spiegelhalter 2005), the ``benchmarking`` section (issue 12).

Each site's indicator at the primary timepoint is set against the pooled value with control limits
that narrow as the site's patients grow in number: 95% (two-sided, z = 1.96) and 99.8% (z = 3.09).
Sites are listed by name, never ranked: a funnel shows which sites differ by more than chance, not
an order of merit.

Two outcomes: the mean improvement (normal limits) and the share of >= 30% responders (exact
binomial limits). Each comes unadjusted, overdispersion-adjusted (multiplicative phi from winsorised
z-scores, as FunnelPlotR estimates it) and risk-adjusted by baseline, age and sex (indirect
standardisation against a model of all patients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from scipy import stats as sps

from .compare import full_rank_columns
from .paired import RESPONDER_SLACK

__all__ = [
    "LIMITS",
    "binomial_limit",
    "funnel_section",
    "logistic_fit",
    "normal_limit",
    "overdispersion",
    "poisson_limit",
]

#: Two-sided coverage of the control limits and the lower and upper probabilities that bound them.
LIMITS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}
#: FunnelPlotR winsorises the z-scores at the 10th and 90th percentiles before estimating phi.
WINSORISE = 0.1
_CURVE_POINTS = 60
_RISK_NAMES = ["intercept", "baseline", "age", "sex_M"]
_LOGISTIC_TOLERANCE = 1e-10
_LOGISTIC_ITERATIONS = 50


def normal_limit(target: float, sd: float, n: np.ndarray, probability: float, phi: float = 1.0) -> np.ndarray:
    """``target + z_p sqrt(phi) sd / sqrt(n)``: the limit of a mean of n values (Spiegelhalter 2005, eq. 4)."""
    return target + sps.norm.ppf(probability) * np.sqrt(phi) * sd / np.sqrt(np.asarray(n, dtype=float))


def binomial_limit(target: float, n: np.ndarray, probability: float) -> np.ndarray:
    r"""Exact binomial limit of a proportion out of n, interpolated (Spiegelhalter 2005, appendix A.1.1).

    ``r_p`` is the smallest r with ``F(r) >= p`` (``qbinom(p, n, target)``), and

    .. math:: \alpha = \frac{F(r_p) - p}{F(r_p) - F(r_p - 1)},\qquad \text{limit} = \frac{r_p - \alpha}{n},

    ``F`` the binomial distribution function of ``(n, target)``, so that the limit moves smoothly with n;
    kept within [0, 1] (the interpolation reaches below 0 when ``r_p = 0``, for tiny n).
    """
    n = np.asarray(n, dtype=float)
    r = sps.binom.ppf(probability, n, target)
    upper, lower = sps.binom.cdf(r, n, target), sps.binom.cdf(r - 1, n, target)
    alpha = np.where(upper > lower, (upper - probability) / np.where(upper > lower, upper - lower, 1.0), 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def poisson_limit(expected: np.ndarray, probability: float) -> np.ndarray:
    """Exact Poisson limit of an observed/expected ratio, interpolated like :func:`binomial_limit` (at least 0)."""
    expected = np.asarray(expected, dtype=float)
    r = sps.poisson.ppf(probability, expected)
    upper, lower = sps.poisson.cdf(r, expected), sps.poisson.cdf(r - 1, expected)
    alpha = np.where(upper > lower, (upper - probability) / np.where(upper > lower, upper - lower, 1.0), 0.0)
    return np.maximum((r - alpha) / expected, 0.0)


def overdispersion(z: np.ndarray) -> tuple[float, float, float]:
    """Multiplicative overdispersion ``phi = (1/k) sum z_w^2`` of winsorised z-scores.

    The z-scores are winsorised at their 10th and 90th percentiles (R's ``quantile``, type 7), as
    FunnelPlotR does; the limits widen by ``sqrt(phi)`` when ``phi > 1`` (Spiegelhalter 2005, section 6).

    Returns
    -------
    phi, low, high : float
        The estimate and the two winsorising bounds.
    """
    low, high = (float(value) for value in np.quantile(z, [WINSORISE, 1 - WINSORISE]))
    return float(np.mean(np.clip(z, low, high) ** 2)), low, high


def logistic_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson (IRLS, as R's ``glm(family = binomial)``)."""
    beta = np.zeros(x.shape[1])
    deviance = np.inf
    for _ in range(_LOGISTIC_ITERATIONS):
        p = 1 / (1 + np.exp(-(x @ beta)))
        w = p * (1 - p)
        step = linalg.solve(x.T @ (x * w[:, None]), x.T @ (y - p), assume_a="pos")
        beta = beta + step
        p = np.clip(1 / (1 + np.exp(-(x @ beta))), 1e-300, 1 - 1e-16)
        new = -2 * float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
        if abs(new - deviance) <= _LOGISTIC_TOLERANCE * (abs(new) + 0.1):
            break
        deviance = new
    return beta


@dataclass(frozen=True)
class _Indicator:
    sites: list[str]
    n: np.ndarray
    value: np.ndarray  # what is plotted
    z: np.ndarray


def _site_rows(indicator: _Indicator, limits: dict[str, tuple[np.ndarray, np.ndarray]], adjusted: dict[str, tuple[np.ndarray, np.ndarray]] | None) -> list[dict]:
    rows = []
    for index, site in enumerate(indicator.sites):
        row = {"site": site, "n": int(indicator.n[index]), "value": float(indicator.value[index]), "z": float(indicator.z[index])}
        for suffix, chosen in (("", limits), ("_overdispersion", adjusted or {})):
            for name, (low, high) in chosen.items():
                row[f"low_{name}{suffix}"], row[f"high_{name}{suffix}"] = float(low[index]), float(high[index])
                row[f"outside_{name}{suffix}"] = bool(indicator.value[index] < low[index] or indicator.value[index] > high[index])
        rows.append(row)
    return rows


def _curve(n: np.ndarray, limit) -> list[dict]:
    """The limits along n from half the smallest site to a tenth beyond the largest (what a figure draws)."""
    low, high = max(1.0, float(n.min()) / 2), max(float(n.max()) * 1.1, 2.0)
    grid = np.unique(np.round(np.geomspace(low, high, _CURVE_POINTS)).astype(int))
    return [{"n": int(n), **{key: float(value) for key, value in limit(np.array([n])).items()}} for n in grid]


def _overdispersed(z: np.ndarray) -> dict:
    phi, low, high = overdispersion(z)
    return {"phi": phi, "winsorised_at": [low, high], "applied": phi > 1}


def _mean_funnel(sites, n, total, target: float, sd: float, label: str, note: str) -> dict:
    value = total / n
    z = (value - target) / (sd / np.sqrt(n))
    od = _overdispersed(z)
    phi = od["phi"] if od["applied"] else 1.0
    limits = {name: (normal_limit(target, sd, n, lo), normal_limit(target, sd, n, hi)) for name, (lo, hi) in LIMITS.items()}
    adjusted = {name: (normal_limit(target, sd, n, lo, phi), normal_limit(target, sd, n, hi, phi)) for name, (lo, hi) in LIMITS.items()}

    def at(m):
        out = {}
        for name, (lo, hi) in LIMITS.items():
            out[f"low_{name}"], out[f"high_{name}"] = normal_limit(target, sd, m, lo)[0], normal_limit(target, sd, m, hi)[0]
            out[f"low_{name}_overdispersion"] = normal_limit(target, sd, m, lo, phi)[0]
            out[f"high_{name}_overdispersion"] = normal_limit(target, sd, m, hi, phi)[0]
        return out

    return {
        "indicator": label, "target": target, "sd": sd, "overdispersion": od, "note": note,
        "sites": _site_rows(_Indicator(sites, n, value, z), limits, adjusted),
        "curve": _curve(n, at),
    }  # fmt: skip


def _proportion_funnel(sites, n, responders, target: float) -> dict:
    value = responders / n
    z = (value - target) / np.sqrt(target * (1 - target) / n)
    od = _overdispersed(z)
    phi = od["phi"] if od["applied"] else 1.0
    limits = {name: (binomial_limit(target, n, lo), binomial_limit(target, n, hi)) for name, (lo, hi) in LIMITS.items()}
    sd = np.sqrt(target * (1 - target))

    def share_limit(m, probability):
        return np.clip(normal_limit(target, sd, m, probability, phi), 0.0, 1.0)

    adjusted = {name: (share_limit(n, lo), share_limit(n, hi)) for name, (lo, hi) in LIMITS.items()}

    def at(m):
        out = {}
        for name, (lo, hi) in LIMITS.items():
            out[f"low_{name}"], out[f"high_{name}"] = binomial_limit(target, m, lo)[0], binomial_limit(target, m, hi)[0]
            out[f"low_{name}_overdispersion"] = share_limit(m, lo)[0]
            out[f"high_{name}_overdispersion"] = share_limit(m, hi)[0]
        return out

    return {
        "indicator": "share of >= 30% responders", "target": target, "overdispersion": od,
        "note": "exact binomial limits; the overdispersion-adjusted limits are normal, target -/+ z sqrt(phi p (1 - p) / n), within 0 to 1",
        "sites": _site_rows(_Indicator(sites, n, value, z), limits, adjusted),
        "curve": _curve(n, at),
    }  # fmt: skip


def _ratio_funnel(sites, n, observed, expected) -> dict:
    value = observed / expected
    z = (observed - expected) / np.sqrt(expected)
    limits = {name: (poisson_limit(expected, lo), poisson_limit(expected, hi)) for name, (lo, hi) in LIMITS.items()}

    def at(e):
        return {f"{side}_{name}": poisson_limit(e, p)[0] for name, pair in LIMITS.items() for side, p in zip(("low", "high"), pair)}

    rows = _site_rows(_Indicator(sites, n, value, z), limits, None)
    for row, e, o in zip(rows, expected, observed):
        row["expected"], row["observed"] = float(e), int(o)
    curve = [{"expected": float(e), **{key: float(v) for key, v in at(np.array([e])).items()}} for e in np.geomspace(max(expected.min() * 0.5, 0.5), expected.max() * 1.1, _CURVE_POINTS)]
    return {
        "indicator": "observed / expected >= 30% responders (indirectly standardised ratio)", "target": 1.0,
        "note": "expected from a logistic model of all patients on baseline, age and sex; exact Poisson limits",
        "sites": rows, "curve": curve,
    }  # fmt: skip


def funnel_section(paired: pd.DataFrame, primary: str) -> dict:
    """The ``benchmarking`` section: funnels of each site at the primary timepoint.

    ``paired`` holds the follow-up rows of patients with a baseline (``vps``, ``baseline``, ``site``,
    ``age``, ``sex``). Both etiologies are pooled: the funnel compares sites, not groups.
    """
    section: dict = {"timepoint": primary, "reason": None, "n_sites": None, "outcomes": None}
    if "site" not in paired.columns:
        section["reason"] = "the input has no site column: sites cannot be compared"
        return section
    rows = paired[paired["timepoint"].astype(str) == primary]
    if rows.empty:
        section["reason"] = f"nobody was seen at the primary timepoint {primary}"
        return section
    site = rows["site"].astype(str).to_numpy()
    sites, codes = np.unique(site, return_inverse=True)
    section["n_sites"] = len(sites)
    if len(sites) < 2:
        section["reason"] = "all patients come from one site: there is nothing to compare it with"
        return section
    baseline = rows["baseline"].to_numpy(float)
    improvement = baseline - rows["vps"].to_numpy(float)
    n = np.bincount(codes).astype(float)
    notes = []
    if np.all(n == 1):
        section["reason"] = "every site has one patient at the primary timepoint: no site has an estimate to compare"
        return section
    target, sd = float(improvement.mean()), float(improvement.std(ddof=1))
    outcomes = {
        "mean_improvement": _mean_funnel(
            list(sites), n, np.bincount(codes, improvement), target, sd, "mean improvement (points)",
            "normal limits with the pooled SD of improvement",
        )
    }
    design = np.column_stack([np.ones(len(rows)), baseline, rows["age"].to_numpy(float), (rows["sex"].astype(str) == "M").to_numpy(float)])
    kept = full_rank_columns(design, _RISK_NAMES)
    x = design[:, [_RISK_NAMES.index(name) for name in kept]]
    if len(rows) > len(kept):
        coef, *_ = linalg.lstsq(x, improvement)
        residual = improvement - x @ coef
        expected = np.bincount(codes, x @ coef)
        residual_sd = float(np.sqrt(residual @ residual / (len(rows) - len(kept))))
        adjusted_total = np.bincount(codes, improvement) - expected + target * n
        outcomes["mean_improvement_risk_adjusted"] = _mean_funnel(
            list(sites), n, adjusted_total, target, residual_sd, "risk-adjusted mean improvement (points)",
            "pooled mean + observed - expected, expected from a linear model of all patients on baseline, age "
            "and sex; normal limits with its residual SD",
        )
    evaluable = baseline > 0
    responder = (improvement >= 0.3 * baseline - RESPONDER_SLACK) & evaluable
    n_evaluable = np.bincount(codes[evaluable], minlength=len(sites)).astype(float)
    with_patients = n_evaluable > 0
    if (~with_patients).any():
        notes.append(f"{int((~with_patients).sum())} site(s) without an evaluable patient (baseline > 0) are left out of the responder funnels")
    share = float(responder[evaluable].mean()) if evaluable.any() else None
    if share is not None and 0 < share < 1 and with_patients.sum() >= 2:
        count = np.bincount(codes[evaluable], responder[evaluable].astype(float), minlength=len(sites))
        outcomes["responders_30"] = _proportion_funnel(list(sites[with_patients]), n_evaluable[with_patients], count[with_patients], share)
        xe, ye = x[evaluable], responder[evaluable].astype(float)
        if len(ye) > xe.shape[1]:
            p = 1 / (1 + np.exp(-(xe @ logistic_fit(xe, ye))))
            expected = np.bincount(codes[evaluable], p, minlength=len(sites))
            outcomes["responders_30_risk_adjusted"] = _ratio_funnel(
                list(sites[with_patients]), n_evaluable[with_patients], count[with_patients], expected[with_patients]
            )
    elif share is not None:
        notes.append("every evaluable patient is a responder, or none is: the responder funnel has no spread")
    section["outcomes"] = outcomes
    section["notes"] = notes
    return section
