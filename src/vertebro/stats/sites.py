"""Patients of one site may resemble each other: the ``sites`` section (issue 12).

Both of the issue's answers, each where it fits. The timepoint sections' difference is an ANCOVA of
one row per patient, and clustering changes its uncertainty, not its estimate: it gets cluster-robust
errors by site (CR1, ``sandwich::vcovCL``'s default), valid whatever the correlation within a site,
with a t reference on G - 1 degrees of freedom (Cameron & Miller 2015), beside the model-based
standard error (their ratio squared is the design effect). The mixed model over all follow-ups is
already a model of the correlation, so it gains a random intercept for site beside the patient's
(:mod:`vertebro.stats.site_mixed`, as ``lmer(... + (1 | site) + (1 | patient))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from scipy import stats as sps

from ..domain.timepoints import FOLLOW_UP_CODES
from .compare import full_rank_columns

__all__ = ["ClusterRobustAncova", "METHOD", "WHY", "cluster_robust_ancova", "sites_section"]

METHOD = (
    "per timepoint, the ANCOVA (followup ~ etiology + baseline + age + sex) with cluster-robust CR1 standard "
    "errors by site (sandwich::vcovCL, type HC1), 95% interval on t with G - 1 degrees of freedom; over all "
    "follow-ups, the mixed model with random intercepts for site and for patient (REML, as lme4::lmer)"
)
WHY = (
    "each timepoint's difference is estimated from one row per patient, and clustering by site changes its "
    "uncertainty, not the estimate: the sandwich estimator allows any correlation within a site without "
    "modelling it, in one pass over the rows even for 100,000 patients; the mixed model already models the "
    "correlation of a patient's scores, so the site enters it the same way, as a random intercept"
)
_NAMES = ["intercept", "pathologic", "baseline", "age", "sex_M"]
#: Below this many sites the CR1 errors are known to be too small (Cameron & Miller 2015): said in a note.
FEW_SITES = 20


@dataclass(frozen=True)
class ClusterRobustAncova:
    """The pathologic coefficient of the ANCOVA with model-based and cluster-robust standard errors.

    Attributes
    ----------
    difference : float or None
        Osteoporotic minus pathologic adjusted improvement (the pathologic coefficient of the follow-up score).
    model_se : float or None
        The OLS standard error, ``sqrt(s^2 [(X'X)^-1]_jj)``.
    robust_se : float or None
        The CR1 standard error, see :func:`cluster_robust_ancova`.
    df : int or None
        ``G - 1``.
    ci_low, ci_high, p : float or None
        ``difference -/+ t(0.975, G - 1) robust_se`` and the two-sided p-value.
    design_effect : float or None
        ``(robust_se / model_se)^2``.
    n : int
        Patients.
    n_sites : int
        Sites with a patient in the model (G).
    notes : tuple of str
    """

    difference: float | None
    model_se: float | None
    robust_se: float | None
    df: int | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    design_effect: float | None
    n: int
    n_sites: int
    notes: tuple[str, ...] = ()


def cluster_robust_ancova(rows: pd.DataFrame) -> ClusterRobustAncova:
    r"""ANCOVA of ``followup`` with CR1 cluster-robust errors by ``site``.

    With ``B = (X'X)^{-1}``, residuals ``e`` and ``G`` clusters,

    .. math::

        V_{CR1} = \frac{G}{G-1}\,\frac{n-1}{n-k}\; B\Big(\sum_g X_g' e_g e_g' X_g\Big) B,

    which is ``sandwich::vcovCL(fit, cluster = ~site)`` with its defaults (``type = "HC1"``,
    ``cadjust = TRUE``).

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per patient: ``followup``, ``baseline``, ``age``, ``etiology``, ``sex``, ``site``.

    References
    ----------
    Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear models. Biometrika 73:13-22.
    Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust inference. J Human Resources 50:317-372.
    Zeileis A, Köll S, Graham N (2020). Various versatile variances: an object-oriented implementation of
    clustered covariances in R. J Statistical Software 95(1).
    """
    n = len(rows)
    codes, sites = pd.factorize(rows["site"].astype(str)) if n else (np.zeros(0, int), [])
    g = len(sites)
    empty = ClusterRobustAncova(None, None, None, None, None, None, None, None, n, g)
    design = np.column_stack(
        [
            np.ones(n),
            (rows["etiology"].astype(str) == "pathologic").to_numpy(float),
            rows["baseline"].to_numpy(float),
            rows["age"].to_numpy(float),
            (rows["sex"].astype(str) == "M").to_numpy(float),
        ]
    ) if n else np.zeros((0, len(_NAMES)))
    kept = full_rank_columns(design, _NAMES)
    k = len(kept)
    if "pathologic" not in kept:
        return _with_note(empty, "patients of both etiologies are needed")
    if n <= k:
        return _with_note(empty, f"{n} patients for {k} coefficients")
    if g < 2:
        return _with_note(empty, "the patients come from one site: there is no clustering by site to allow for")
    if g == n:
        return _with_note(empty, "every site has one patient here: clustering by site is clustering by patient")
    x = design[:, [_NAMES.index(name) for name in kept]]
    y = rows["followup"].to_numpy(float)
    q, r = np.linalg.qr(x)
    coef = linalg.solve_triangular(r, q.T @ y)
    residual = y - x @ coef
    r_inverse = linalg.solve_triangular(r, np.eye(k))
    bread = r_inverse @ r_inverse.T
    scores = np.zeros((g, k))
    np.add.at(scores, codes, x * residual[:, None])
    meat = scores.T @ scores
    robust = g / (g - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    j = kept.index("pathologic")
    difference = float(coef[j])
    model_se = float(np.sqrt(residual @ residual / (n - k) * bread[j, j]))
    robust_se = float(np.sqrt(robust[j, j]))
    half = float(sps.t.ppf(0.975, g - 1)) * robust_se
    p = float(2 * sps.t.sf(abs(difference / robust_se), g - 1))
    notes = ()
    if g < FEW_SITES:
        notes = (f"{g} sites: cluster-robust errors with fewer than {FEW_SITES} clusters can be too small; read the interval with care",)
    return ClusterRobustAncova(
        difference, model_se, robust_se, g - 1, difference - half, difference + half, p,
        (robust_se / model_se) ** 2, n, g, notes,
    )  # fmt: skip


def _with_note(result: ClusterRobustAncova, note: str) -> ClusterRobustAncova:
    return ClusterRobustAncova(**{**result.__dict__, "notes": (*result.notes, note)})


def sites_section(paired: pd.DataFrame) -> dict:
    """The ``sites`` section: the patients per site and the cluster-robust ANCOVA per follow-up timepoint.

    ``paired`` holds the follow-up rows of patients with a baseline (``vps`` the follow-up score,
    ``baseline``), with ``site``.
    """
    section: dict = {
        "method": METHOD, "why": WHY, "reason": None, "n_sites": None, "sites": None, "timepoints": None, "mixed_model": None,
    }  # fmt: skip
    if "site" not in paired.columns:
        section["reason"] = "the input has no site column: clustering by site cannot be allowed for"
        return section
    patients = paired.drop_duplicates("patient_id")
    counts = patients.groupby([patients["site"].astype(str), patients["etiology"].astype(str)]).size().unstack(fill_value=0)
    section["n_sites"] = int(len(counts))
    section["sites"] = [
        {"site": site, "n_patients": int(row.sum()), **{group: int(row.get(group, 0)) for group in ("osteoporotic", "pathologic")}}
        for site, row in counts.iterrows()
    ]
    if len(counts) < 2:
        section["reason"] = "all patients come from one site: there is no clustering by site to allow for"
        return section
    if int(counts.to_numpy().sum()) == len(counts):
        section["reason"] = "every site has one patient: clustering by site is clustering by patient"
        return section
    rows = []
    by_code = dict(tuple(paired.groupby(paired["timepoint"].astype(str), sort=False)))
    for code in FOLLOW_UP_CODES:
        if code not in by_code:
            continue
        fit = cluster_robust_ancova(by_code[code].rename(columns={"vps": "followup"}))
        rows.append({"timepoint": code, **{key: value for key, value in fit.__dict__.items() if key != "notes"}, "notes": list(fit.notes)})
    section["timepoints"] = rows
    from .site_mixed import site_mixed_summary

    section["mixed_model"] = site_mixed_summary(paired)
    return section
