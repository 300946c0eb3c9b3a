"""Missing follow-up scores: multiple imputation by chained equations and a delta-adjusted tipping point.

The mixed model (:mod:`vertebro.stats.longitudinal`) stays the primary analysis, valid when the
scores are missing at random given what it models. This module asks how much the between-group
difference depends on that: it imputes every missing follow-up score ``m`` times (chained equations,
Bayesian linear regression as ``mice``'s ``norm`` method), analyses each completed data set with the
ANCOVA of the timepoint sections, pools with Rubin's rules (:mod:`vertebro.stats.rubin`), and then makes
the imputed scores of one group (or both) worse by ``delta`` points to find where the conclusion turns.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from threadpoolctl import threadpool_limits

from ..domain.timepoints import BY_CODE, FOLLOW_UP_CODES
from ..domain.vocabulary import STUDY_GROUPS
from .compare import full_rank_columns
from .reviewer import DEFAULT_IMPUTATIONS
from .rubin import PooledEstimate, rubin_pool

__all__ = [
    "DELTAS",
    "ImputationData",
    "ShiftStatistics",
    "imputation_data",
    "impute_follow_up",
    "pool_differences",
]

#: The delta-adjusted scenarios the contract lists (points on the 0-10 scale, added to imputed scores).
DELTAS = (0.0, 0.5, 1.0, 2.0)
#: Who gets worse in a delta scenario: each group alone, or both.
SHIFTED_GROUPS = (*STUDY_GROUPS, "both")
#: Sweeps of the chained equations over the incomplete columns (``mice``'s default ``maxit``).
ITERATIONS = 5
#: ``mice``'s default ridge penalty of ``norm``: ``ridge * diag(X'X)`` is added to ``X'X``.
_RIDGE = 1e-5
#: The tipping point is searched for up to the whole width of the pain scale.
TIPPING_LIMIT = 10.0
_TIPPING_GRID = np.linspace(0.0, TIPPING_LIMIT, 101)
_TIPPING_BISECTIONS = 40
#: Below this many cells drawn (patients x timepoints x imputations x iterations) starting worker
#: processes costs more than it saves.
_PARALLEL_MIN_WORK = 2_000_000
_ANALYSIS_COLUMNS = ["intercept", "pathologic", "baseline", "age", "sex_M"]
#: A residual sum of squares below this share of y'y is the rounding noise of an exact fit.
_PERFECT_FIT = 1e-24
EXACT_FIT_NOTE = "the ANCOVA fits every completed data set exactly (zero variance): nothing to pool"


@dataclass(frozen=True)
class ImputationData:
    """One row per patient of the study groups with a baseline score, one column per follow-up.

    Attributes
    ----------
    patient_ids : numpy.ndarray
    timepoints : tuple of str
        Follow-up codes somebody was seen at, in schedule order (the columns of ``scores``).
    scores : numpy.ndarray
        ``(patients, timepoints)`` follow-up scores, NaN where missing.
    due : numpy.ndarray
        ``(patients, timepoints)`` bool: the timepoint's window had closed by the data cut-off (or the
        patient was seen there). Every missing cell is imputed (it is a predictor of the others), but a
        timepoint's analysis uses the patients due there only.
    predictors : numpy.ndarray
        ``(patients, c)`` fully observed predictors, named by ``predictor_names``: baseline, age,
        sex_M, pathologic, recurrent_pain (1 when any follow-up recorded recurrent pain) and one
        indicator per site after the first when there are two or more sites.
    predictor_names : tuple of str
    etiology : numpy.ndarray
        ``osteoporotic`` or ``pathologic`` per patient.
    """

    patient_ids: np.ndarray
    timepoints: tuple[str, ...]
    scores: np.ndarray
    due: np.ndarray
    predictors: np.ndarray
    predictor_names: tuple[str, ...]
    etiology: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.scores)


def imputation_data(study: pd.DataFrame) -> ImputationData:
    """Reshape validated flat rows of the two study groups (unscheduled rows removed) to one row per patient.

    A follow-up is due once its window has closed by the data cut-off (the latest assessment date),
    as :mod:`vertebro.stats.completeness` counts it; without procedure dates and days every follow-up
    counts as due.
    """
    baseline_rows = study[study["timepoint"] == "baseline"]
    patients = pd.Index(baseline_rows["patient_id"].unique())
    first = baseline_rows.drop_duplicates("patient_id").set_index("patient_id").reindex(patients)
    followups = study[(study["timepoint"] != "baseline") & study["patient_id"].isin(patients)]
    timepoints = tuple(code for code in FOLLOW_UP_CODES if (followups["timepoint"] == code).any())
    rows = patients.get_indexer(followups["patient_id"])
    columns = pd.Index(timepoints).get_indexer(followups["timepoint"].astype(str))
    scores = np.full((len(patients), len(timepoints)), np.nan)
    scores[rows, columns] = followups["vps"].to_numpy(float)

    recurrent = np.zeros(len(patients))
    if "recurrent_pain" in followups.columns:
        flagged = followups["recurrent_pain"].to_numpy(float) == 1
        recurrent[np.unique(rows[flagged])] = 1.0
    predictors = {
        "baseline": first["vps"].to_numpy(float),
        "age": first["age"].to_numpy(float),
        "sex_M": (first["sex"].astype(str) == "M").to_numpy(float),
        "pathologic": (first["etiology"].astype(str) == "pathologic").to_numpy(float),
        "recurrent_pain": recurrent,
    }
    if "site" in first.columns:
        sites = first["site"].astype(str)
        for site in sorted(sites.unique())[1:]:
            predictors[f"site[{site}]"] = (sites == site).to_numpy(float)
    due = _due(study, patients, timepoints) | ~np.isnan(scores)
    return ImputationData(
        patient_ids=patients.to_numpy(),
        timepoints=timepoints,
        scores=scores,
        due=due,
        predictors=np.column_stack(list(predictors.values())) if len(patients) else np.zeros((0, len(predictors))),
        predictor_names=tuple(predictors),
        etiology=first["etiology"].astype(str).to_numpy(),
    )


def _due(study: pd.DataFrame, patients: pd.Index, timepoints: tuple[str, ...]) -> np.ndarray:
    every = np.ones((len(patients), len(timepoints)), dtype=bool)
    if "procedure_date" not in study.columns or "days" not in study.columns or not len(study):
        return every
    dates = pd.to_datetime(study["procedure_date"], errors="coerce", format="mixed")
    if dates.isna().any():
        return every
    cutoff = (dates + pd.to_timedelta(study["days"].to_numpy(), "D")).max()
    procedure = dates.groupby(study["patient_id"].to_numpy()).first().reindex(patients).to_numpy()
    closing = np.array([BY_CODE[code].last_day for code in timepoints], dtype="timedelta64[D]")
    return procedure[:, None] + closing[None, :] <= np.datetime64(cutoff)


# --- imputation -------------------------------------------------------------------------------------


def impute_follow_up(data: ImputationData, *, m: int = DEFAULT_IMPUTATIONS, seed: int, workers: int | None = None) -> np.ndarray:
    """Impute every missing follow-up score ``m`` times by chained equations.

    Parameters
    ----------
    data : ImputationData
    m : int
        Number of imputations.
    seed : int
        Imputation ``l`` draws from ``numpy.random.default_rng(SeedSequence(seed).spawn(m)[l])``, so the
        result is the same whatever ``workers`` is.
    workers : int or None
        Processes to spread the imputations over; None picks up to two (the imputations are
        independent) when the work is large enough to repay starting them. Each process uses one BLAS
        thread: the regressions are many and small, and threaded BLAS on them (or two processes each
        with threaded BLAS on two cores) is several times slower.

    Returns
    -------
    numpy.ndarray
        ``(m, patients, timepoints)``: the observed scores with the imputed ones filled in.

    Notes
    -----
    As ``mice(method = "norm", maxit = 5)`` with every other column as predictor: each missing cell
    starts as a random draw from its column's observed scores; then, five times over, each incomplete
    column ``y`` is regressed on ``X = [1, predictors, other follow-up columns]`` among the patients
    seen there and its missing cells are redrawn from the posterior predictive distribution of that
    Bayesian linear regression (``mice.impute.norm``, Rubin 1987 p. 167):

    ``V = (X'X + diag(ridge * diag(X'X)))^{-1}``, ``b = V X'y``, ``sigma*^2 = RSS / g`` with
    ``g ~ chi^2(max(n_obs - p, 1))``, ``beta* = b + sigma* L z`` (``L L' = V``, ``z ~ N(0, I)``) and
    ``y_mis = X_mis beta* + sigma* e``, ``e ~ N(0, I)``. The drawn scores are not rounded or bounded to
    0-10 (as ``norm`` does not), so that the imputation model stays linear.

    References
    ----------
    van Buuren S, Groothuis-Oudshoorn K (2011). mice: Multivariate imputation by chained equations in R.
    Journal of Statistical Software 45(3):1-67.
    """
    if m < 2:
        raise ValueError(f"multiple imputation needs at least two imputations (m = {m})")
    seeds = np.random.SeedSequence(seed).spawn(m)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if data.scores.size * m * ITERATIONS >= _PARALLEL_MIN_WORK else 1
    workers = max(1, min(workers, m))
    plan = _plan(data)
    completed = np.broadcast_to(data.scores, (m, *data.scores.shape)).copy()
    if workers == 1:
        with threadpool_limits(limits=1):
            drawn = [_impute_once(plan, child) for child in seeds]
        for index, values in enumerate(drawn):
            completed[index][plan.missing] = values
        return completed
    chunks = [seeds[start::workers] for start in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, initializer=_set_worker_plan, initargs=(plan,)) as pool:
        results = list(pool.map(_impute_chunk, chunks))
    for start, result in enumerate(results):
        for offset, values in enumerate(result):
            completed[start + offset * workers][plan.missing] = values
    return completed


@dataclass(frozen=True)
class _Plan:
    """What every imputation of the same data shares: computed once, not once per imputation."""

    missing: np.ndarray  # (n, T) bool
    base: np.ndarray  # (n, P) Z = [1, predictors, scores] with NaN where missing
    fixed: int  # columns of Z before the scores
    incomplete: list[int]
    missing_rows: dict[int, np.ndarray]
    observed: dict[int, np.ndarray]  # observed scores of each incomplete column (the first fill)
    seen: np.ndarray  # (n, T) float, 1 where seen
    seen_rows: dict[int, np.ndarray]  # seen[missing_rows[t]]
    fixed_cross: np.ndarray  # (T, fixed, fixed): F' diag(seen_t) F
    n_seen: np.ndarray  # (T,)


def _plan(data: ImputationData) -> _Plan:
    missing = data.missing
    n, timepoints = data.scores.shape
    fixed = data.predictors.shape[1] + 1
    base = np.empty((n, fixed + timepoints))
    base[:, 0] = 1.0
    base[:, 1:fixed] = data.predictors
    base[:, fixed:] = data.scores
    incomplete = [t for t in range(timepoints) if missing[:, t].any()]
    missing_rows = {t: np.flatnonzero(missing[:, t]) for t in incomplete}
    seen = (~missing).astype(float)
    f = base[:, :fixed]
    return _Plan(
        missing=missing, base=base, fixed=fixed, incomplete=incomplete, missing_rows=missing_rows,
        observed={t: data.scores[~missing[:, t], t] for t in incomplete}, seen=seen,
        seen_rows={t: seen[rows] for t, rows in missing_rows.items()},
        fixed_cross=np.stack([f.T @ (f * seen[:, [t]]) for t in range(timepoints)]) if timepoints else np.zeros((0, fixed, fixed)),
        n_seen=seen.sum(axis=0),
    )  # fmt: skip


_WORKER_PLAN: _Plan | None = None


def _set_worker_plan(plan: _Plan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _impute_chunk(seeds: list[np.random.SeedSequence]) -> np.ndarray:
    """The drawn values of the imputations seeded by ``seeds`` (only they travel back to the parent)."""
    assert _WORKER_PLAN is not None
    with threadpool_limits(limits=1):
        return np.stack([_impute_once(_WORKER_PLAN, child) for child in seeds])


def _impute_once(plan: _Plan, seed: np.random.SeedSequence) -> np.ndarray:
    """The values drawn for the missing cells of one completed data set, in ``scores[missing]`` order.

    Each regression needs only the cross-products of ``Z = [1, predictors, scores]`` over the rows
    seen at its column, so they are kept, one ``(P, P)`` matrix per column, and updated after each
    draw from the drawn rows only (a product of their ``P`` columns by the change), instead of
    building and multiplying a design matrix of all rows per regression.
    """
    rng = np.random.default_rng(seed)
    fixed, seen = plan.fixed, plan.seen
    z = plan.base.copy()
    for t in plan.incomplete:
        z[plan.missing_rows[t], fixed + t] = rng.choice(plan.observed[t], size=len(plan.missing_rows[t]))
    n, width = z.shape
    timepoints = width - fixed
    # cross[t] = Z' diag(seen_t) Z, from its fixed block (shared) and the blocks involving the scores.
    scores = z[:, fixed:]
    weighted = (scores[:, None, :] * seen[:, :, None]).reshape(n, timepoints * timepoints)  # [i, t, s] = seen_it y_is
    with_scores = (z.T @ weighted).reshape(width, timepoints, timepoints)  # [k, t, s] = sum seen_it z_ik y_is
    cross = np.empty((timepoints, width, width))
    cross[:, :fixed, :fixed] = plan.fixed_cross
    cross[:, :, fixed:] = with_scores.transpose(1, 0, 2)
    cross[:, fixed:, :fixed] = with_scores[:fixed].transpose(1, 2, 0)
    for _ in range(ITERATIONS):
        for t in plan.incomplete:
            column, rows = fixed + t, plan.missing_rows[t]
            others = np.r_[0:column, column + 1 : width]
            before = z[rows]
            drawn = _norm_draw(cross[t], column, others, int(plan.n_seen[t]), before, rng)
            # Only the drawn cells changed (by d): row and column `column` of each cross[s] move by
            # sum over those rows seen at s of z_i d_i, and its diagonal by sum of (2 old + d) d.
            change = drawn - before[:, column]
            weights = plan.seen_rows[t] * change[:, None]  # (rows, T)
            moved = before.T @ weights  # (P, T)
            cross[:, :, column] += moved.T
            cross[:, column, :] += moved.T
            cross[:, column, column] += change @ weights
            z[rows, column] = drawn
    return z[:, fixed:][plan.missing]


def _norm_draw(
    cross: np.ndarray, column: int, others: np.ndarray, n_obs: int, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One draw of the missing values of ``column`` from the Bayesian linear regression on ``others``
    (``mice:::.norm.draw``), given the cross-products ``cross`` of the observed rows and the rows of
    ``Z`` to impute.

    Predictors constant or collinear among the observed rows are left out first, as ``mice`` does
    (``remove.lindep``), by R's ``lm`` rule applied to the cross-product (see :func:`_independent_columns`).
    """
    xtx, xty, yty = cross[np.ix_(others, others)], cross[others, column], cross[column, column]
    if not _well_conditioned(xtx):
        kept = _independent_columns(xtx)
        others, xtx, xty = others[kept], xtx[np.ix_(kept, kept)], xty[kept]
    v = linalg.inv(xtx + np.diag(_RIDGE * np.diag(xtx)))
    v = (v + v.T) / 2
    coef = v @ xty
    rss = max(float(yty - 2 * coef @ xty + coef @ xtx @ coef), 0.0)
    dof = max(n_obs - len(xty), 1)
    sigma = np.sqrt(rss / rng.chisquare(dof))
    beta = np.zeros(rows.shape[1])
    beta[others] = coef + linalg.cholesky(v, lower=True) @ rng.standard_normal(len(xty)) * sigma
    return rows @ beta + rng.standard_normal(len(rows)) * sigma


def _independent_columns(xtx: np.ndarray) -> list[int]:
    """Columns kept when each one whose unexplained norm is at most 1e-7 of its own norm is dropped, in order
    (R's ``lm`` rule), from the cross-product: the unexplained squared norm of column j is
    ``xtx_jj - c' B^{-1} c`` with ``B`` the block of the columns kept before it and ``c`` their products with j."""
    kept: list[int] = []
    for j in range(len(xtx)):
        norm2 = xtx[j, j]
        if norm2 <= 0:
            continue
        if kept:
            block = xtx[np.ix_(kept, kept)]
            projection = xtx[kept, j]
            unexplained = max(norm2 - float(projection @ linalg.solve(block, projection, assume_a="pos")), 0.0)
        else:
            unexplained = norm2
        if unexplained > (1e-7) ** 2 * norm2:
            kept.append(j)
    return kept


def _well_conditioned(cross: np.ndarray) -> bool:
    """True when no column is anywhere near collinear with the others (the usual case, decided cheaply).

    The Cholesky factor of the cross-product scaled to unit diagonal has on its diagonal the share of
    each column's norm the earlier columns do not explain; above 1e-3 no rounding is near R's 1e-7 rule.
    """
    norms = np.sqrt(np.diag(cross))
    if not np.all(norms > 0):
        return False
    try:
        factor = linalg.cholesky(cross / np.outer(norms, norms), lower=True, check_finite=False)
    except linalg.LinAlgError:
        return False
    return bool(np.all(np.abs(np.diag(factor)) > 1e-3))


# --- analysis of the completed data sets -----------------------------------------------------------


@dataclass(frozen=True)
class ShiftStatistics:
    """Everything Rubin's rules need at one timepoint, for any delta, from m completed data sets.

    The ANCOVA ``y = X b + e`` (``X`` = intercept, pathologic, baseline, age, sex_M) of the patients due
    at the timepoint has the same ``X = Q R`` in every imputation; only ``y`` changes, and a delta
    scenario adds ``delta * s`` to it (``s`` = 1 on the shifted group's imputed cells). So, with
    ``j`` the pathologic column and ``c = e_j' R^{-1}``:

    ``b_j(delta) = c (Q'y + delta Q's)`` and
    ``RSS(delta) = y'y + 2 delta y's + delta^2 s's - |Q'y + delta Q's|^2``,
    ``U(delta) = RSS(delta) / (n - k) * |c|^2``.

    Attributes
    ----------
    timepoint : str
    n : int
        Patients due at the timepoint (observed or imputed).
    imputed : dict
        Imputed scores per group at the timepoint.
    dfcom : int
        ``n - k``.
    contrast : numpy.ndarray
        ``c``, shape ``(k,)``.
    qy : numpy.ndarray
        ``Q'y`` per imputation, ``(m, k)``.
    yy : numpy.ndarray
        ``y'y`` per imputation, ``(m,)``.
    qs, ys, ss : dict
        Per shifted group: ``Q's`` ``(k,)``, ``y's`` ``(m,)``, ``s's`` (float).
    note : str or None
        Why the timepoint cannot be analysed (then the arrays are empty).
    """

    timepoint: str
    n: int
    imputed: dict[str, int]
    dfcom: int
    contrast: np.ndarray
    qy: np.ndarray
    yy: np.ndarray
    qs: dict[str, np.ndarray]
    ys: dict[str, np.ndarray]
    ss: dict[str, float]
    note: str | None = None

    def pooled(self, delta: float = 0.0, shifted: str = "both") -> PooledEstimate | None:
        """The difference pooled by Rubin's rules when the imputed scores of ``shifted`` rise by ``delta``.

        None when the timepoint cannot be analysed (``note``) or every completed data set fits exactly.
        """
        if self.note is not None:
            return None
        q = self.qy + delta * self.qs[shifted]
        estimates = q @ self.contrast
        rss = self.yy + 2 * delta * self.ys[shifted] + delta**2 * self.ss[shifted] - np.sum(q**2, axis=1)
        exact = np.all(rss <= _PERFECT_FIT * self.yy) and np.ptp(estimates) <= 1e-12 * (1 + abs(float(estimates[0])))
        if exact:
            return None  # every completed data set fits exactly and agrees: no variance to pool
        variances = np.maximum(rss, 0.0) / self.dfcom * float(self.contrast @ self.contrast)
        return rubin_pool(estimates, variances, self.dfcom)


def pool_differences(data: ImputationData, completed: np.ndarray) -> list[ShiftStatistics]:
    """Per follow-up timepoint, the ANCOVA of each completed data set reduced to :class:`ShiftStatistics`."""
    names = list(data.predictor_names)
    covariates = np.column_stack(
        [np.ones(len(data.etiology)), *(data.predictors[:, names.index(name)] for name in _ANALYSIS_COLUMNS[1:])]
    ) if len(data.etiology) else np.zeros((0, len(_ANALYSIS_COLUMNS)))
    results = []
    for t, code in enumerate(data.timepoints):
        rows = data.due[:, t]
        imputed_cells = data.missing[rows, t]
        groups = data.etiology[rows]
        imputed = {group: int(np.sum(imputed_cells & (groups == group))) for group in STUDY_GROUPS}
        design = covariates[rows]
        kept = full_rank_columns(design, _ANALYSIS_COLUMNS)
        n, k = int(rows.sum()), len(kept)
        empty = dict(contrast=np.zeros(0), qy=np.zeros((0, 0)), yy=np.zeros(0), qs={}, ys={}, ss={})
        if "pathologic" not in kept:
            results.append(ShiftStatistics(code, n, imputed, 0, note=f"{code}: patients of both etiologies are needed", **empty))
            continue
        if n <= k:
            results.append(ShiftStatistics(code, n, imputed, 0, note=f"{code}: {n} patients for {k} coefficients", **empty))
            continue
        q, r = np.linalg.qr(design[:, [_ANALYSIS_COLUMNS.index(name) for name in kept]])
        contrast = linalg.solve_triangular(r, np.eye(k), trans="T")[:, kept.index("pathologic")]
        y = completed[:, rows, t]  # (m, n)
        shifts = {
            "osteoporotic": (imputed_cells & (groups == "osteoporotic")).astype(float),
            "pathologic": (imputed_cells & (groups == "pathologic")).astype(float),
            "both": imputed_cells.astype(float),
        }
        results.append(
            ShiftStatistics(
                timepoint=code,
                n=n,
                imputed=imputed,
                dfcom=n - k,
                contrast=contrast,
                qy=y @ q,
                yy=np.einsum("ij,ij->i", y, y),
                qs={group: s @ q for group, s in shifts.items()},
                ys={group: y @ s for group, s in shifts.items()},
                ss={group: float(s @ s) for group, s in shifts.items()},
            )
        )
    return results


def excludes_zero(pooled: PooledEstimate) -> bool:
    """The conclusion of a pooled difference: its 95% interval lies wholly on one side of zero."""
    return pooled.ci_low > 0 or pooled.ci_high < 0


def tipping_delta(statistics: ShiftStatistics, shifted: str) -> float | None:
    """The smallest delta in (0, 10] at which the conclusion differs from the one at delta = 0, or None.

    A grid of step 0.1 finds the first change, then bisection narrows it to about 1e-11 points.
    """
    at_zero = statistics.pooled(0.0, shifted)
    if at_zero is None:
        return None
    start = excludes_zero(at_zero)
    previous = 0.0
    for delta in _TIPPING_GRID[1:]:
        if excludes_zero(statistics.pooled(float(delta), shifted)) != start:
            low, high = previous, float(delta)
            for _ in range(_TIPPING_BISECTIONS):
                middle = (low + high) / 2
                if excludes_zero(statistics.pooled(middle, shifted)) != start:
                    high = middle
                else:
                    low = middle
            return high
        previous = float(delta)
    return None
