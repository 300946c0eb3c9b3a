"""The follow-up score model with random intercepts for site and for patient (patients nested in sites).

``score = X beta + u_site + u_patient + e`` by REML, as ``lme4::lmer(score ~ ... + (1 | site) +
(1 | patient))``. As in :mod:`vertebro.stats.mixed`, the criterion depends on the rows only through
sums computed once: per patient-size class the outer products of the patients' column sums, and per
site and size class the column sums themselves, so an evaluation costs O((K + G) q^2) for K distinct
patient sizes, G sites and q = p + 1 columns, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from .compare import full_rank_columns
from .longitudinal import mixed_model_design

__all__ = ["SiteMixedFit", "fit_site_patient_model", "site_mixed_summary"]

_Z975 = 1.959963984540054
_FIT_KEYS = (
    "etiology_difference", "etiology_se", "etiology_ci_low", "etiology_ci_high", "site_variance", "patient_variance",
    "residual_variance", "reml_criterion", "n_observations", "n_patients", "n_sites", "reference_timepoint",
)  # fmt: skip
# A coarse grid of theta = (sqrt(lambda_patient), sqrt(lambda_site)), zero (the boundary) included,
# picks the start of the local search.
_GRID = np.concatenate([[0.0], np.logspace(-2, 2, 9)])


@dataclass(frozen=True)
class SiteMixedFit:
    """REML fit of the nested random-intercept model.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        ``estimate`` and ``se`` (``sqrt(diag(sigma_e^2 (X' W^-1 X)^-1))``, lme4's ``vcov``) per column.
    site_variance, patient_variance, residual_variance : float
        sigma_s^2, sigma_p^2, sigma_e^2 (lme4's ``VarCorr`` and ``sigma^2``).
    reml_criterion : float
        lme4's ``REMLcrit``.
    n_observations, n_patients, n_sites : int
    """

    coefficients: pd.DataFrame
    site_variance: float
    patient_variance: float
    residual_variance: float
    reml_criterion: float
    n_observations: int
    n_patients: int
    n_sites: int


@dataclass(frozen=True)
class _Sums:
    within: np.ndarray  # (q, q) pooled within-patient cross-product of Z = [X | y]
    sizes: np.ndarray  # (K,) patient sizes
    between: np.ndarray  # (K, q, q) sum over patients of size k of s_i s_i'
    site_sums: np.ndarray  # (G, K, q) sum over the site's patients of size k of s_i
    site_counts: np.ndarray  # (G, K) patients of size k at the site
    n: int
    p: int


def _sums(y: np.ndarray, x: np.ndarray, patient: np.ndarray, site: np.ndarray) -> _Sums:
    n, p = x.shape
    z = np.column_stack([x, y])
    patient_codes, patients = pd.factorize(patient)
    counts = np.bincount(patient_codes)
    sums = np.stack([np.bincount(patient_codes, weights=z[:, j], minlength=len(patients)) for j in range(p + 1)], axis=1)
    centred = z - (sums / counts[:, None])[patient_codes]
    within = centred.T @ centred
    first_row = np.unique(patient_codes, return_index=True)[1]
    site_codes, sites = pd.factorize(np.asarray(site)[first_row])
    sizes, size_index = np.unique(counts, return_inverse=True)
    between = np.stack([sums[size_index == k].T @ sums[size_index == k] for k in range(len(sizes))])
    site_sums = np.zeros((len(sites), len(sizes), p + 1))
    np.add.at(site_sums, (site_codes, size_index), sums)
    site_counts = np.zeros((len(sites), len(sizes)))
    np.add.at(site_counts, (site_codes, size_index), 1.0)
    return _Sums(within, sizes.astype(float), between, site_sums, site_counts, n, p)


def _crossproduct(sums: _Sums, lam_patient: float, lam_site: float) -> tuple[np.ndarray, float]:
    """``Z' W^-1 Z`` and ``log|W|`` for ``W = V / sigma_e^2`` at the two variance ratios.

    With ``A_i = I + lam_p J`` per patient, ``A_i^-1 = I - g_i J`` (``g_i = lam_p / (1 + n_i lam_p)``);
    per site ``W_s = A_s + lam_s 1 1'`` and, by Sherman-Morrison,
    ``Z_s' W_s^-1 Z_s = sum_i (Z_i' Z_i - g_i s_i s_i') - c_s a_s a_s'`` with
    ``a_s = sum_i s_i / (1 + n_i lam_p)``, ``t_s = sum_i n_i / (1 + n_i lam_p)``,
    ``c_s = lam_s / (1 + lam_s t_s)``; ``log|W_s| = sum_i log(1 + n_i lam_p) + log(1 + lam_s t_s)``.
    ``Z_i' Z_i - g_i s_i s_i'`` is the within part plus ``s_i s_i' / (n_i (1 + n_i lam_p))``.
    """
    k = sums.sizes
    shrink = 1.0 / (1.0 + k * lam_patient)
    product = sums.within + np.tensordot(shrink / k, sums.between, axes=1)
    a = np.tensordot(sums.site_sums, shrink, axes=([1], [0]))  # (G, q)
    t = sums.site_counts @ (k * shrink)  # (G,)
    c = lam_site / (1.0 + lam_site * t)
    product = product - (a * c[:, None]).T @ a
    log_det = float(sums.site_counts.sum(axis=0) @ np.log1p(k * lam_patient) + np.sum(np.log1p(lam_site * t)))
    return product, log_det


def _criterion(sums: _Sums, theta: np.ndarray) -> float:
    """lme4's REML criterion, profiled over sigma_e^2, at ``theta = (sqrt(lam_p), sqrt(lam_s))``."""
    product, log_det = _crossproduct(sums, theta[0] ** 2, theta[1] ** 2)
    p, dof = sums.p, sums.n - sums.p
    try:
        factor = linalg.cholesky(product[:p, :p], lower=True)
    except linalg.LinAlgError:
        return np.inf
    half = linalg.solve_triangular(factor, product[:p, p], lower=True)
    rss = float(product[p, p] - half @ half)
    if rss <= 0:
        return np.inf
    return log_det + 2 * float(np.sum(np.log(np.diag(factor)))) + dof * (1 + np.log(2 * np.pi * rss / dof))


def fit_site_patient_model(
    y: np.ndarray, x: np.ndarray, patient: np.ndarray, site: np.ndarray, *, column_names: list[str]
) -> SiteMixedFit:
    """REML fit of ``y = X beta + u_site + u_patient + e`` (patients nested in sites).

    The two variance ratios are found by bounded quasi-Newton (L-BFGS-B, ``theta >= 0`` as lme4's
    bobyqa) from the best point of a 10 x 10 grid (zero and 10^-2 .. 10^2); a ratio on its bound is
    the singular fit lme4 reports.

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using lme4.
    Journal of Statistical Software 67(1):1-48.
    """
    sums = _sums(np.asarray(y, float), np.asarray(x, float), np.asarray(patient), np.asarray(site))
    grid = [(_criterion(sums, np.array(theta)), theta) for theta in ((a, b) for a in _GRID for b in _GRID)]
    value, start = min(grid, key=lambda item: item[0])
    if not np.isfinite(value):
        raise ValueError("the site and patient mixed model has no finite REML criterion for these rows")
    best = optimize.minimize(
        lambda theta: _criterion(sums, theta), np.array(start), method="L-BFGS-B",
        bounds=[(0.0, None), (0.0, None)], options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
    )  # fmt: skip
    theta = best.x
    product, _ = _crossproduct(sums, theta[0] ** 2, theta[1] ** 2)
    p, dof = sums.p, sums.n - sums.p
    inverse = linalg.inv(product[:p, :p])
    beta = inverse @ product[:p, p]
    sigma2 = float(product[p, p] - product[:p, p] @ beta) / dof
    coefficients = pd.DataFrame(
        {"estimate": beta, "se": np.sqrt(np.diag(inverse) * sigma2)}, index=pd.Index(column_names, name="term")
    )
    return SiteMixedFit(
        coefficients=coefficients,
        site_variance=float(theta[1] ** 2 * sigma2),
        patient_variance=float(theta[0] ** 2 * sigma2),
        residual_variance=sigma2,
        reml_criterion=float(best.fun),
        n_observations=sums.n,
        n_patients=int(sums.site_counts.sum()),
        n_sites=len(sums.site_counts),
    )


def site_mixed_summary(paired: pd.DataFrame) -> dict:
    """The ``sites.mixed_model`` entry: the etiology effect of the follow-up model with site and patient
    intercepts (design as the ``mixed_model`` section), or a note when it cannot be fitted."""
    design, names, reference = mixed_model_design(paired)
    kept = full_rank_columns(design, names)
    entry: dict = {"model": "score ~ etiology + timepoint + baseline + age + sex + (1 | site) + (1 | patient), REML"}
    if "etiology[pathologic]" not in kept or len(paired) <= len(kept):
        return {**entry, **dict.fromkeys(_FIT_KEYS), "note": "patients of both etiologies and more rows than coefficients are needed"}
    fit = fit_site_patient_model(
        paired["vps"].to_numpy(float), design[:, [names.index(name) for name in kept]],
        paired["patient_id"].to_numpy(), paired["site"].astype(str).to_numpy(), column_names=kept,
    )  # fmt: skip
    estimate = float(fit.coefficients.loc["etiology[pathologic]", "estimate"])
    se = float(fit.coefficients.loc["etiology[pathologic]", "se"])
    return {
        **entry,
        "etiology_difference": estimate,
        "etiology_se": se,
        "etiology_ci_low": estimate - _Z975 * se,
        "etiology_ci_high": estimate + _Z975 * se,
        "site_variance": fit.site_variance,
        "patient_variance": fit.patient_variance,
        "residual_variance": fit.residual_variance,
        "reml_criterion": fit.reml_criterion,
        "n_observations": fit.n_observations,
        "n_patients": fit.n_patients,
        "n_sites": fit.n_sites,
        "reference_timepoint": reference,
        "note": None,
    }
