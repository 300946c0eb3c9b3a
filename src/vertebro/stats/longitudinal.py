"""All follow-ups at once: the random-intercept model of the follow-up score (the ``mixed_model`` section).

This module builds the design matrix and reads off the etiology effect; the fitting itself is
:func:`vertebro.stats.mixed.fit_random_intercept` (REML, as ``lme4::lmer``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.errors import DomainError
from ..domain.timepoints import FOLLOW_UP_CODES
from .compare import full_rank_columns

__all__ = ["MixedModelSummary", "etiology_mixed_model", "mixed_model_design"]

_Z975 = 1.959963984540054


@dataclass(frozen=True)
class MixedModelSummary:
    """The ``mixed_model`` section of the contract.

    Attributes
    ----------
    n_observations, n_patients : int
        Follow-up rows and patients in the model.
    etiology_difference, etiology_se : float or None
        The pathologic coefficient of the follow-up score model and its standard error. A higher
        adjusted follow-up score at the same baseline is an equally smaller improvement, so this is
        the adjusted osteoporotic-minus-pathologic difference in improvement.
    etiology_ci_low, etiology_ci_high : float or None
        Wald 95% interval, ``estimate -/+ 1.959964 se`` (lme4's ``confint(method = "Wald")``).
    patient_variance, residual_variance : float or None
        REML variance of the random intercept and of the residual.
    reference_timepoint : str or None
        The first follow-up timepoint present, the reference level of the timepoint effect.
    dropped : tuple of str
        Design columns left out as constant or collinear (one sex only, one timepoint only, ...).
    notes : tuple of str
    """

    n_observations: int
    n_patients: int
    etiology_difference: float | None
    etiology_se: float | None
    etiology_ci_low: float | None
    etiology_ci_high: float | None
    patient_variance: float | None
    residual_variance: float | None
    reference_timepoint: str | None
    dropped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def mixed_model_design(rows: pd.DataFrame) -> tuple[np.ndarray, list[str], str | None]:
    """Design matrix of ``score ~ etiology + timepoint + baseline + age + sex``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Follow-up rows with ``etiology``, ``timepoint``, ``baseline``, ``age``, ``sex``.

    Returns
    -------
    design : numpy.ndarray
        Columns ``intercept``, ``etiology[pathologic]``, one ``timepoint[code]`` per follow-up code present
        after the reference, ``baseline``, ``age``, ``sex[M]`` (references osteoporotic, first timepoint, F).
    names : list of str
    reference : str or None
        The reference timepoint.
    """
    present = [code for code in FOLLOW_UP_CODES if (rows["timepoint"] == code).any()]
    reference = present[0] if present else None
    columns = {"intercept": np.ones(len(rows)), "etiology[pathologic]": (rows["etiology"] == "pathologic").to_numpy(float)}
    for code in present[1:]:
        columns[f"timepoint[{code}]"] = (rows["timepoint"] == code).to_numpy(float)
    columns["baseline"] = rows["baseline"].to_numpy(float)
    columns["age"] = rows["age"].to_numpy(float)
    columns["sex[M]"] = (rows["sex"] == "M").to_numpy(float)
    names = list(columns)
    return np.column_stack(list(columns.values())), names, reference


def etiology_mixed_model(rows: pd.DataFrame) -> MixedModelSummary:
    """Fit the random-intercept model on follow-up rows of patients with a baseline.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per follow-up assessment: ``patient_id``, ``vps`` (the follow-up score), ``timepoint``,
        ``baseline`` (the patient's baseline score), ``etiology``, ``age``, ``sex``.

    Notes
    -----
    ``score_ij = b0 + b1 [pathologic_i] + sum_t g_t [timepoint_ij = t] + b2 baseline_i + b3 age_i
    + b4 [M_i] + u_i + e_ij`` with ``u_i ~ N(0, s_u^2)``, ``e_ij ~ N(0, s_e^2)``, by REML (Laird & Ware
    1982). Constant or collinear columns are dropped first, as ``lme4`` does for a rank-deficient
    fixed-effects matrix.
    """
    from .mixed import fit_random_intercept

    n_observations, n_patients = len(rows), int(rows["patient_id"].nunique())
    if n_observations == 0:
        return MixedModelSummary(
            0, 0, None, None, None, None, None, None, None, (),
            ("no follow-up row of a patient with a baseline: the mixed model cannot be fitted",),
        )
    design, names, reference = mixed_model_design(rows)
    kept = full_rank_columns(design, names)
    dropped = tuple(name for name in names if name not in kept)
    notes = [
        f"mixed model: {name} is constant or collinear among these rows and was left out"
        for name in dropped
        if name != "etiology[pathologic]"
    ]
    try:
        fit = fit_random_intercept(
            rows["vps"].to_numpy(float),
            design[:, [names.index(name) for name in kept]],
            rows["patient_id"].to_numpy(),
            column_names=kept,
        )
    except DomainError as error:
        notes.append(f"the mixed model cannot be fitted: {error.rule}")
        return MixedModelSummary(
            n_observations, n_patients, None, None, None, None, None, None, reference, dropped, tuple(notes)
        )
    estimate = se = low = high = None
    if "etiology[pathologic]" in kept:
        estimate = float(fit.coefficients.loc["etiology[pathologic]", "estimate"])
        se = float(fit.coefficients.loc["etiology[pathologic]", "se"])
        low, high = estimate - _Z975 * se, estimate + _Z975 * se
    else:
        notes.append("the mixed model has one etiology only: no etiology difference")
    return MixedModelSummary(
        n_observations=fit.n_observations,
        n_patients=fit.n_groups,
        etiology_difference=estimate,
        etiology_se=se,
        etiology_ci_low=low,
        etiology_ci_high=high,
        patient_variance=float(fit.patient_variance),
        residual_variance=float(fit.residual_variance),
        reference_timepoint=reference,
        dropped=dropped,
        notes=tuple(notes),
    )
