"""Draw the synthetic cohort chunk by chunk, with the seed's figures exact across all chunks.

How exactness survives chunking (nothing is rejected and redrawn):

* **Counts** (women, pathologic): :func:`~.allocation.split_count` deals the cohort-wide count out
  chunk by chunk (hypergeometric), then the chunk's flags are shuffled — the same law as one shuffle
  of the whole cohort.
* **Age range**: before the first chunk, the youngest patient is chosen as the *j*-th pathologic
  patient and the oldest as the *k*-th osteoporotic one; whichever chunk holds them sets their ages.
* **Age mean**: each group has a mean weight (the pathologic mean is a parameter; the osteoporotic
  mean is derived so the weights add up to the exact cohort total). A chunk must carry the rounded
  running total of those weights minus what earlier chunks carried; its random ages are shifted
  and rounded to carry exactly that (:func:`~.allocation.integers_with_total`). The last chunk
  lands on the cohort total.
* **Improvement**: the same running-total rule per group and timepoint, against a target mean drawn
  once per seed with the pathologic target held below the osteoporotic one, so the ordering of the
  group means holds at every timepoint for every seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.special import ndtr, ndtri

from ..domain.errors import DomainError
from ..domain.levels import LEVEL_CODES, level_index
from ..domain.timepoints import BY_CODE, SCHEDULE
from ..domain.vocabulary import VENUE
from .allocation import integers_with_total, round_half_up, shuffled_flags, split_count
from .parameters import CLINIC_CODES, CohortParameters

#: Columns of a chunk's assessment arrays: the schedule in order (baseline, post, 1w … 12m).
TIMEPOINT_COLUMNS: tuple[str, ...] = tuple(tp.code for tp in SCHEDULE)
OSTEOPOROTIC, PATHOLOGIC = 0, 1
NEURO, PRIMARY, PAIN = (VENUE.codes.index(c) for c in ("neurointerventional_clinic", "primary_care", "pain_clinic"))
#: ``recurrent`` value meaning "empty" (baseline rows).
NOT_ASKED = -1
_FIRST_LUMBAR = level_index("L1")
_SCORE_MAX = 10


@dataclass(frozen=True)
class CohortPlan:
    """Cohort-wide decisions taken from the seed before the first chunk.

    Attributes
    ----------
    patients, women, pathologic : int
        Exact counts for this cohort size (see :class:`~.parameters.CohortFigures` for the scaling).
    age_total : int
        The exact sum of all ages.
    anchors : tuple of (group, rank, age)
        The youngest and oldest patients: the ``rank``-th patient (0-based) of ``group`` gets ``age``.
        Empty when the cohort is too small for range and total to hold together (fewer than 4).
    age_weight : tuple of Fraction
        Mean age weights of the osteoporotic and pathologic patients who are not anchors.
    improvement_target : ndarray, shape (2, 6)
        Target mean improvement per group (osteoporotic, pathologic) and timepoint (post … 12m).
    """

    patients: int
    women: int
    pathologic: int
    age_total: int
    anchors: tuple[tuple[int, int, int], ...]
    age_weight: tuple[Fraction, Fraction]
    improvement_target: np.ndarray


@dataclass(frozen=True)
class Chunk:
    """Consecutive patients and their assessments, as arrays.

    Attributes
    ----------
    first_number : int
        Patient number (1-based) of the first patient; ``patient_id`` is ``VP`` and the number.
    site, age, procedure_day, level_mask, cement_tenths : ndarray of int, shape (n,)
        Index into the site codes; age in years; procedure date as a proleptic ordinal; treated levels
        as a bit mask over :data:`~vertebro.domain.levels.LEVEL_CODES`; total cement in 0.1 ml.
    female, pathologic : ndarray of bool, shape (n,)
    present, days, vps, venue, recurrent : ndarray, shape (n, 7)
        Per timepoint of :data:`TIMEPOINT_COLUMNS`: whether the assessment exists, its day from the
        procedure, the 0–10 score, the venue (index into ``VENUE.codes``) and recurrent pain
        (0/1, :data:`NOT_ASKED` at baseline).
    """

    first_number: int
    site: np.ndarray
    female: np.ndarray
    pathologic: np.ndarray
    age: np.ndarray
    procedure_day: np.ndarray
    level_mask: np.ndarray
    cement_tenths: np.ndarray
    present: np.ndarray
    days: np.ndarray
    vps: np.ndarray
    venue: np.ndarray
    recurrent: np.ndarray

    def __len__(self) -> int:
        return len(self.age)


def plan_cohort(patients: int, params: CohortParameters, rng: np.random.Generator) -> CohortPlan:
    """Exact counts, age anchors and improvement targets for a cohort of ``patients``."""
    if isinstance(patients, bool) or not isinstance(patients, (int, np.integer)) or patients < 1:
        raise DomainError("patients", patients, "a synthetic cohort needs a whole number of at least 1 patient")
    patients = int(patients)
    fig = params.figures
    women = round_half_up(Fraction(patients * fig.women, fig.patients))
    pathologic = round_half_up(Fraction(patients * fig.pathologic, fig.patients))
    sizes = [patients - pathologic, pathologic]
    age_total = round_half_up(patients * Fraction(fig.age_mean))

    anchors: tuple[tuple[int, int, int], ...] = ()
    if patients >= 4:
        young_group = PATHOLOGIC if sizes[PATHOLOGIC] else OSTEOPOROTIC
        old_group = OSTEOPOROTIC if sizes[OSTEOPOROTIC] else PATHOLOGIC
        young_rank = int(rng.integers(sizes[young_group]))
        old_rank = int(rng.integers(sizes[old_group] - (old_group == young_group)))
        if old_group == young_group and old_rank >= young_rank:
            old_rank += 1
        anchors = ((young_group, young_rank, fig.age_min), (old_group, old_rank, fig.age_max))

    free = list(sizes)
    for group, _, _ in anchors:
        free[group] -= 1
    free_total = age_total - sum(age for _, _, age in anchors)
    pathologic_weight = Fraction(params.ages.pathologic_mean)
    if free[OSTEOPOROTIC]:
        osteoporotic_weight = (free_total - free[PATHOLOGIC] * pathologic_weight) / free[OSTEOPOROTIC]
        if not fig.age_min + 1 <= osteoporotic_weight <= fig.age_max - 1:
            # A pathologic mean this far off cannot hold beside the cohort mean: give both groups the same.
            osteoporotic_weight = pathologic_weight = Fraction(free_total, sum(free))
    else:
        osteoporotic_weight = pathologic_weight = Fraction(free_total, max(sum(free), 1))

    pain = params.pain
    jitter = rng.normal(0.0, pain.improvement_jitter_sd, size=(2, len(pain.improvement_osteoporotic)))
    target = np.array([pain.improvement_osteoporotic, pain.improvement_pathologic], dtype=np.float64) + jitter
    target[PATHOLOGIC] = np.minimum(target[PATHOLOGIC], target[OSTEOPOROTIC] - pain.min_improvement_gap)
    return CohortPlan(
        patients=patients,
        women=women,
        pathologic=pathologic,
        age_total=age_total,
        anchors=anchors,
        age_weight=(osteoporotic_weight, pathologic_weight),
        improvement_target=target,
    )


class _RunningTotals:
    """What earlier chunks have dealt out, so the next chunk knows its exact share."""

    def __init__(self, plan: CohortPlan):
        self.patients_left = plan.patients
        self.women_left = plan.women
        self.pathologic_left = plan.pathologic
        self.seen = [0, 0]  # patients seen per group (for the anchors)
        self.free_seen = [0, 0]  # non-anchor patients seen per group
        self.age_dealt = 0
        self.assessed = np.zeros(plan.improvement_target.shape, dtype=np.int64)
        self.improvement_dealt = np.zeros(plan.improvement_target.shape, dtype=np.int64)


def iter_chunks(
    patients: int, seed: int, params: CohortParameters, *, chunk_size: int
) -> Iterator[Chunk]:
    """Yield the cohort as :class:`Chunk` objects of at most ``chunk_size`` patients.

    The output depends on ``patients``, ``seed``, ``params`` and ``chunk_size`` only.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DomainError("seed", seed, "the seed must be a whole number, 0 or more")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    rng = np.random.default_rng(int(seed))
    plan = plan_cohort(patients, params, rng)
    totals = _RunningTotals(plan)
    first = 1
    while totals.patients_left:
        size = min(chunk_size, totals.patients_left)
        yield _draw_chunk(first, size, plan, params, totals, rng)
        first += size


def _truncated_normal(rng, mean, sd, low, high, size) -> np.ndarray:
    """Normal draws conditioned on ``[low, high]`` (inverse-CDF; ``mean``/``sd`` may be arrays)."""
    a, b = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    return mean + sd * ndtri(a + rng.random(size) * (b - a))


def _draw_chunk(
    first: int, n: int, plan: CohortPlan, params: CohortParameters, totals: _RunningTotals, rng
) -> Chunk:
    women = split_count(rng, totals.women_left, totals.patients_left, n)
    pathologic_count = split_count(rng, totals.pathologic_left, totals.patients_left, n)
    totals.women_left -= women
    totals.pathologic_left -= pathologic_count
    totals.patients_left -= n
    female = shuffled_flags(rng, n, women)
    pathologic = shuffled_flags(rng, n, pathologic_count)
    group = pathologic.astype(np.int64)

    age = _ages(n, group, plan, params, totals, rng)
    site = rng.integers(len(params.sites), size=n)
    procedures = params.procedures
    first_day, last_day = procedures.first_date.toordinal(), procedures.last_date.toordinal()
    procedure_day = first_day + rng.integers(last_day - first_day + 1, size=n)
    level_mask, cement_tenths = _levels_and_cement(group, params, rng)
    present, days, vps, venue, recurrent = _assessments(group, plan, params, totals, rng)
    return Chunk(
        first_number=first,
        site=site,
        female=female,
        pathologic=pathologic,
        age=age,
        procedure_day=procedure_day,
        level_mask=level_mask,
        cement_tenths=cement_tenths,
        present=present,
        days=days,
        vps=vps,
        venue=venue,
        recurrent=recurrent,
    )


def _ages(n, group, plan: CohortPlan, params: CohortParameters, totals: _RunningTotals, rng) -> np.ndarray:
    fig = params.figures
    age = np.zeros(n, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    in_chunk = [np.flatnonzero(group == g) for g in (OSTEOPOROTIC, PATHOLOGIC)]
    for anchor_group, rank, anchor_age in plan.anchors:
        offset = rank - totals.seen[anchor_group]
        if 0 <= offset < len(in_chunk[anchor_group]):
            position = in_chunk[anchor_group][offset]
            age[position] = anchor_age
            free[position] = False
    for g in (OSTEOPOROTIC, PATHOLOGIC):
        totals.seen[g] += len(in_chunk[g])
        totals.free_seen[g] += int(np.count_nonzero(free & (group == g)))
    expected_so_far = sum(totals.free_seen[g] * plan.age_weight[g] for g in (OSTEOPOROTIC, PATHOLOGIC))
    chunk_total = round_half_up(expected_so_far) - totals.age_dealt
    free_group = group[free]
    mean = np.where(free_group == PATHOLOGIC, float(plan.age_weight[PATHOLOGIC]), float(plan.age_weight[OSTEOPOROTIC]))
    sd = np.where(free_group == PATHOLOGIC, params.ages.pathologic_sd, params.ages.osteoporotic_sd)
    latent = _truncated_normal(rng, mean, sd, fig.age_min, fig.age_max, len(free_group))
    age[free] = integers_with_total(latent, fig.age_min, fig.age_max, chunk_total)
    totals.age_dealt += chunk_total
    return age


def _level_weights(pairs) -> np.ndarray:
    weights = np.zeros(len(LEVEL_CODES))
    for level, weight in pairs:
        weights[level_index(level)] = weight
    return weights / weights.sum()


def _levels_and_cement(group, params: CohortParameters, rng) -> tuple[np.ndarray, np.ndarray]:
    """Treated levels (bit masks) and total cement (0.1 ml); several levels are drawn without replacement."""
    procedures = params.procedures
    n = len(group)
    count_shares = np.array([procedures.level_count_osteoporotic, procedures.level_count_pathologic])
    level_count = 1 + (rng.random(n)[:, None] > np.cumsum(count_shares, axis=1)[group][:, :-1]).sum(axis=1)
    weights = np.array([_level_weights(procedures.levels_osteoporotic), _level_weights(procedures.levels_pathologic)])
    with np.errstate(divide="ignore"):
        # Gumbel top-k: the k largest of log(weight) + Gumbel noise are a weighted draw without replacement.
        keys = np.log(weights[group]) - np.log(-np.log(rng.random((n, len(LEVEL_CODES)))))
    ranked = np.argsort(-keys, axis=1, kind="stable")[:, :3]
    chosen = np.arange(3)[None, :] < level_count[:, None]
    level_mask = (chosen * (np.int64(1) << ranked)).sum(axis=1)

    lumbar = ranked >= _FIRST_LUMBAR
    mean = np.where(lumbar, procedures.cement_ml_lumbar[0], procedures.cement_ml_thoracic[0])
    sd = np.where(lumbar, procedures.cement_ml_lumbar[1], procedures.cement_ml_thoracic[1])
    low, high = procedures.cement_ml_range
    per_level = np.clip(mean + sd * rng.standard_normal((n, 3)), low, high)
    cement_tenths = np.rint((per_level * chosen).sum(axis=1) * 10).astype(np.int64)
    return level_mask, cement_tenths


def _assessments(group, plan: CohortPlan, params: CohortParameters, totals: _RunningTotals, rng):
    n = len(group)
    fu, pain = params.follow_up, params.pain
    visits = len(CLINIC_CODES)
    is_pathologic = group == PATHOLOGIC

    def per_group(osteoporotic_values, pathologic_values) -> np.ndarray:
        """An (n, visits) array: each patient's row of per-visit values for their group."""
        return np.where(is_pathologic[:, None], np.asarray(pathologic_values), np.asarray(osteoporotic_values))

    # Who is seen: a patient stays in follow-up until a retention threshold passes them by, and misses
    # the odd visit; the post-procedure score is never missed.
    retention = per_group(fu.retention_osteoporotic, fu.retention_pathologic)
    attends = (rng.random(n)[:, None] < retention) & (rng.random((n, visits)) >= fu.missed_visit_probability)

    # Recurrent back pain runs through every visit, attended or not, and usually persists once started.
    onset = per_group(fu.recurrence_onset_osteoporotic, fu.recurrence_onset_pathologic)
    recurrent_visit = np.zeros((n, visits), dtype=bool)
    previous = np.zeros(n, dtype=bool)
    for k in range(visits):
        draw = rng.random(n)
        previous = np.where(previous, draw < fu.recurrence_persistence, draw < onset[:, k])
        recurrent_visit[:, k] = previous

    columns = len(TIMEPOINT_COLUMNS)
    present = np.ones((n, columns), dtype=bool)
    present[:, 2:] = attends
    recurrent = np.zeros((n, columns), dtype=np.int8)
    recurrent[:, 0] = NOT_ASKED
    recurrent[:, 2:] = recurrent_visit

    days = np.zeros((n, columns), dtype=np.int64)
    same_day = rng.random(n) < fu.baseline_same_day_share
    lead = np.minimum(rng.geometric(1.0 / fu.baseline_lead_days_mean, size=n), -BY_CODE["baseline"].first_day)
    days[:, 0] = np.where(same_day, 0, -lead)
    days[:, 1] = rng.choice(3, size=n, p=fu.post_day_shares)
    for k, code in enumerate(CLINIC_CODES):
        window = BY_CODE[code]
        drift = np.rint(rng.normal(0.0, fu.visit_day_sd[k], size=n)).astype(np.int64)
        days[:, 2 + k] = np.clip(fu.visit_day_target[k] + drift, window.first_day, window.last_day)

    venue = np.full((n, columns), NEURO, dtype=np.int64)
    usual = np.where(rng.random((n, visits)) < np.asarray(fu.neurointerventional_share)[None, :], NEURO, PRIMARY)
    to_pain_clinic = recurrent_visit & (rng.random((n, visits)) < fu.pain_clinic_share_when_recurrent)
    venue[:, 2:] = np.where(to_pain_clinic, PAIN, usual)

    vps = np.zeros((n, columns), dtype=np.int64)
    baseline = _baselines(is_pathologic, pain, rng)
    vps[:, 0] = baseline
    baseline_mean = np.where(is_pathologic, pain.baseline_mean_pathologic, pain.baseline_mean_osteoporotic)
    patient_effect = rng.normal(0.0, pain.patient_effect_sd, size=n) + pain.improvement_per_baseline_point * (
        baseline - baseline_mean
    )
    noise = rng.normal(0.0, pain.visit_noise_sd, size=(n, columns - 1))
    for t in range(columns - 1):  # post, 1w … 12m
        column = t + 1
        # The post score is always below baseline (all patients improved at first); later ones may rise.
        lowest = np.ones(n, dtype=np.int64) if t == 0 else baseline - _SCORE_MAX
        for g in (OSTEOPOROTIC, PATHOLOGIC):
            rows = present[:, column] & (group == g)
            count = int(np.count_nonzero(rows))
            if not count:
                continue
            latent = (
                plan.improvement_target[g, t]
                + patient_effect[rows]
                + noise[rows, t]
                - pain.recurrence_pain_increase * (recurrent[rows, column] == 1)
            )
            low, high = lowest[rows], baseline[rows]
            totals.assessed[g, t] += count
            wanted = round_half_up(Fraction(float(plan.improvement_target[g, t])) * int(totals.assessed[g, t]))
            share = int(np.clip(wanted - totals.improvement_dealt[g, t], low.sum(), high.sum()))
            improvement = integers_with_total(latent, low, high, share)
            totals.improvement_dealt[g, t] += share
            vps[rows, column] = baseline[rows] - improvement
    return present, days, vps, venue, recurrent


def _baselines(is_pathologic, pain, rng) -> np.ndarray:
    mean = np.where(is_pathologic, pain.baseline_mean_pathologic, pain.baseline_mean_osteoporotic)
    sd = np.where(is_pathologic, pain.baseline_sd_pathologic, pain.baseline_sd_osteoporotic)
    latent = _truncated_normal(rng, mean, sd, pain.baseline_min - 0.5, _SCORE_MAX + 0.5, len(is_pathologic))
    return np.clip(np.rint(latent), pain.baseline_min, _SCORE_MAX).astype(np.int64)
