"""Named parameters of the synthetic cohort, each with where its default comes from.

Only the cohort figures in :class:`CohortFigures` come from the seed abstract (ASSR 2012, *Pathologic
versus Osteoporotic Compression Fractures*); the generator reproduces them exactly. Every other default
is an **assumption**: the abstract gives no means, SDs, follow-up rates, venue shares, recurrence rates,
levels or cement volumes. Where a published figure informed an assumption, the docstring names it
(DESIGN.md §3 lists the trials); "assumption" alone means no source pins the number down.

Per-timepoint tuples follow :data:`vertebro.domain.timepoints.FOLLOW_UP_CODES` — ``post, 1w, 1m, 3m,
6m, 12m`` — or, where the post-procedure assessment has no meaning (attendance, recurrence, venue),
:data:`CLINIC_CODES` — ``1w, 1m, 3m, 6m, 12m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..domain.errors import DomainError
from ..domain.levels import parse_level
from ..domain.rules import CEMENT_ML_MAX
from ..domain.timepoints import FOLLOW_UP_CODES

#: Follow-up timepoints after the post-procedure score: the clinic visits.
CLINIC_CODES: tuple[str, ...] = tuple(code for code in FOLLOW_UP_CODES if code != "post")


@dataclass(frozen=True)
class CohortFigures:
    """The published figures of the seed abstract, reproduced exactly for ``patients == 300``.

    Source: seed abstract — "Three hundred patients (217 women, 83 men) ... average age was 72 years
    (range 22 to 95 years) ... Two hundred seventy procedures were for insufficiency (osteoporotic)
    fractures and thirty procedures were for pathologic fractures."

    For another cohort size ``N`` the counts scale proportionally, rounded half up:
    ``women = round(N * 217 / 300)``, ``pathologic = round(N * 30 / 300)``, the age total is
    ``round(N * age_mean)`` (so the mean is ``age_mean`` to within ``0.5 / N``), and one patient is
    exactly ``age_min`` and one exactly ``age_max`` whenever ``N >= 4`` (below that the total and the
    range cannot all hold; ages then only stay inside the range).
    """

    patients: int = 300
    women: int = 217
    pathologic: int = 30
    age_mean: float = 72.0
    age_min: int = 22
    age_max: int = 95


@dataclass(frozen=True)
class AgeModel:
    """How ages spread around the exact figures (all assumptions, apart from the pathologic skew's direction).

    Attributes
    ----------
    pathologic_mean : float
        Mean age of the pathologic group, 62. Assumption: the abstract only implies a wide range (the
        youngest patient, 22, is placed in this group — spinal malignancy such as lymphoma or sarcoma is
        what brings a 22-year-old to vertebroplasty). The osteoporotic mean is then whatever makes the
        cohort mean exact (about 73 for the default cohort), close to the mid-70s of osteoporotic
        vertebroplasty series (e.g. Al-Ali, Barrow and Luke, AJNR, "Vertebroplasty: what is important
        and what is not": mean 77.5 in 357 patients).
    osteoporotic_sd, pathologic_sd : float
        Spread before ages are truncated to ``[age_min, age_max]``: 9 and 12 years. Assumption.
    """

    pathologic_mean: float = 62.0
    osteoporotic_sd: float = 9.0
    pathologic_sd: float = 12.0


@dataclass(frozen=True)
class PainModel:
    """Pain scores (0–10 VPS, integers) at baseline and improvement afterwards.

    Attributes
    ----------
    baseline_mean_osteoporotic, baseline_sd_osteoporotic : float
        7.0 (SD 1.9): INVEST (Kallmes 2009, n=131), DESIGN.md §3.
    baseline_mean_pathologic, baseline_sd_pathologic : float
        7.3 (SD 2.2): Buchbinder 2009 (n=78), DESIGN.md §3 — an osteoporotic trial used as a stand-in;
        that metastatic pain is at least as severe is an assumption.
    baseline_min : int
        4: patients with *intractable* pain only (seed abstract). Assumption between INVEST's entry
        threshold (3) and VERTOS II's (VAS >= 5, DESIGN.md §3). Baselines are drawn from the normal
        above truncated to ``[baseline_min, 10]``, so their realised mean is a little higher.
    improvement_osteoporotic, improvement_pathologic : tuple of float
        Mean improvement (baseline − score) per timepoint ``post, 1w, 1m, 3m, 6m, 12m`` among the
        patients assessed there, recurrent pain included. Assumption: the abstract says only that all
        patients improved at first and the osteoporotic group more (a trend). No published figure is
        matched: the osteoporotic targets (4.2–4.7 points from a baseline near 7) make the typical
        relief "substantial" by IMMPACT (≥50%, DESIGN.md §3), as uncontrolled series of the abstract's
        era describe; the pathologic targets are 0.55–1.1 points lower, the gap widening with time as
        malignancy progresses. Realised group means equal these targets (plus jitter) to within
        rounding, by construction.
    improvement_jitter_sd : float
        0.05 points: each seed moves every target by a normal draw of this SD, so two seeds do not share
        identical means. Assumption (a design choice, not a clinical figure).
    min_improvement_gap : float
        0.3 points: after jitter the pathologic target is held at least this far below the osteoporotic
        one at every timepoint, so "osteoporotic improves more" holds for every seed. With ~270 versus
        ~30 patients the default gaps give Welch p of about 0.1 at the post timepoint (0.05–0.25 for
        most seeds): a trend.
    improvement_per_baseline_point : float
        0.5: a patient starting one point higher improves half a point more. Assumption; preoperative
        pain was the strongest predictor of relief in the SWISSspine registry (balloon kyphoplasty,
        PMC3804705).
    patient_effect_sd, visit_noise_sd : float
        1.2 and 1.0 points: a patient's lasting responsiveness and visit-to-visit noise. Assumption.
    recurrence_pain_increase : float
        2.5 points less improvement while recurrent back pain lasts. Assumption.
    """

    baseline_mean_osteoporotic: float = 7.0
    baseline_sd_osteoporotic: float = 1.9
    baseline_mean_pathologic: float = 7.3
    baseline_sd_pathologic: float = 2.2
    baseline_min: int = 4
    improvement_osteoporotic: tuple[float, ...] = (4.2, 4.5, 4.7, 4.7, 4.5, 4.3)
    improvement_pathologic: tuple[float, ...] = (3.65, 3.9, 4.0, 3.8, 3.5, 3.2)
    improvement_jitter_sd: float = 0.05
    min_improvement_gap: float = 0.3
    improvement_per_baseline_point: float = 0.5
    patient_effect_sd: float = 1.2
    visit_noise_sd: float = 1.0
    recurrence_pain_increase: float = 2.5


@dataclass(frozen=True)
class FollowUpModel:
    """Who is seen when, where, and with what.

    Attributes
    ----------
    retention_osteoporotic, retention_pathologic : tuple of float
        Share of patients still in follow-up at ``1w, 1m, 3m, 6m, 12m`` (non-increasing: once lost, a
        patient stays lost). Osteoporotic 0.96 … 0.64, pathologic 0.92 … 0.40 (deaths from the
        malignancy). Assumption, below the trial capture of VERTOS II (95% at 1 month, 85% at 1 year in
        the vertebroplasty arm, Cochrane review CD006349) as a single-institution clinical series is, and
        below the ≥80% one-year capture spine registries aim for (DESIGN.md §3).
    missed_visit_probability : float
        0.06: a patient still in follow-up misses a given visit. Assumption. Attendance at a timepoint
        is ``retention × (1 − missed_visit_probability)``; the post-procedure score is never missed
        (seed abstract: all patients were assessed before and after the procedure).
    recurrence_onset_osteoporotic, recurrence_onset_pathologic : tuple of float
        Chance that recurrent back pain starts by ``1w, 1m, 3m, 6m, 12m`` in a patient free of it until
        then: about 20% (osteoporotic) and 36% (pathologic) have had it by 12 months. Assumption; in the range of
        new vertebral fractures within a year of vertebroplasty (18%, Al-Ali et al., AJNR; 15 of 91 in
        the VERTOS II vertebroplasty arm, Klazen et al., AJNR 2010;31:1447), higher with metastases.
    recurrence_persistence : float
        0.85: recurrent pain present at one timepoint is still present at the next. Assumption
        ("usually persists").
    pain_clinic_share_when_recurrent : float
        0.85 of visits with recurrent pain take place in the pain management clinic (seed abstract:
        patients with recurrent back pain were followed there); the rest are where the patient would
        otherwise be seen. Share is an assumption.
    neurointerventional_share : tuple of float
        Share of the other visits at ``1w, 1m, 3m, 6m, 12m`` in the neurointerventional clinic; the rest
        are with the primary care provider (the two venues the abstract names). Assumption: early
        visits mostly return to the operator, later ones to primary care.
    baseline_same_day_share, baseline_lead_days_mean : float
        0.55 of baselines are scored on the procedure day; the rest a geometric number of days before
        it (mean 7), within the −30..0 window. Assumption.
    post_day_shares : tuple of float
        Days 0, 1, 2 after the procedure for the post score: 0.75, 0.20, 0.05. Assumption.
    visit_day_target, visit_day_sd : tuple of int / float
        Nominal day of the ``1w, 1m, 3m, 6m, 12m`` visits (7, 30, 91, 182, 365) and the spread around it
        (2, 7, 12, 20, 30 days), clipped to each timepoint's window. Assumption.
    """

    retention_osteoporotic: tuple[float, ...] = (0.96, 0.91, 0.83, 0.74, 0.64)
    retention_pathologic: tuple[float, ...] = (0.92, 0.82, 0.68, 0.54, 0.40)
    missed_visit_probability: float = 0.06
    recurrence_onset_osteoporotic: tuple[float, ...] = (0.02, 0.04, 0.05, 0.05, 0.06)
    recurrence_onset_pathologic: tuple[float, ...] = (0.04, 0.08, 0.10, 0.10, 0.10)
    recurrence_persistence: float = 0.85
    pain_clinic_share_when_recurrent: float = 0.85
    neurointerventional_share: tuple[float, ...] = (0.85, 0.70, 0.50, 0.40, 0.35)
    baseline_same_day_share: float = 0.55
    baseline_lead_days_mean: float = 7.0
    post_day_shares: tuple[float, ...] = (0.75, 0.20, 0.05)
    visit_day_target: tuple[int, ...] = (7, 30, 91, 182, 365)
    visit_day_sd: tuple[float, ...] = (2.0, 7.0, 12.0, 20.0, 30.0)


#: Where fractures are treated: weights over levels, mostly T5–L5 with the thoracolumbar junction
#: (T11–L2) most common. Assumption in the shape of DESIGN.md §2 ("augmentation is mostly T5–L5").
_OSTEOPOROTIC_LEVELS = (
    ("T5", 0.02), ("T6", 0.03), ("T7", 0.05), ("T8", 0.07), ("T9", 0.06), ("T10", 0.07), ("T11", 0.10),
    ("T12", 0.18), ("L1", 0.17), ("L2", 0.10), ("L3", 0.07), ("L4", 0.05), ("L5", 0.03),
)  # fmt: skip
#: Metastases spread more evenly and reach the upper thoracic spine now and then. Assumption.
_PATHOLOGIC_LEVELS = (
    ("T1", 0.01), ("T2", 0.01), ("T3", 0.02), ("T4", 0.03), ("T5", 0.04), ("T6", 0.05), ("T7", 0.06),
    ("T8", 0.07), ("T9", 0.07), ("T10", 0.08), ("T11", 0.09), ("T12", 0.11), ("L1", 0.11), ("L2", 0.08),
    ("L3", 0.07), ("L4", 0.06), ("L5", 0.04),
)  # fmt: skip


@dataclass(frozen=True)
class ProcedureModel:
    """The index procedure: when, which levels, how much cement.

    Attributes
    ----------
    first_date, last_date : datetime.date
        Procedure dates are uniform over 2007-01-01 … 2010-12-31, so that 12-month follow-up ends before
        the abstract's 2012 meeting. Assumption. Fixed dates, never "today", so a seed gives the same
        file on any day.
    level_count_osteoporotic, level_count_pathologic : tuple of float
        Chance of treating 1, 2 or 3 levels: 0.70/0.22/0.08 and 0.55/0.30/0.15. Assumption.
    levels_osteoporotic, levels_pathologic : tuple of (str, float)
        Relative weight of each level (several levels are drawn without replacement). Assumption.
    cement_ml_thoracic, cement_ml_lumbar : tuple of float
        Mean and SD of cement per treated level, ml: thoracic 3.0 (1.0), lumbar 4.0 (1.2), each level
        clipped to ``cement_ml_range``; ``cement_ml`` in the file is the total, to 0.1 ml. Assumption,
        below the 4.5 ml per level above which relief was likelier in the SWISSspine kyphoplasty
        registry (PMC3804705).
    cement_ml_range : tuple of float
        1.0–8.0 ml per level. Assumption (the domain allows up to 20 ml).
    """

    first_date: date = date(2007, 1, 1)
    last_date: date = date(2010, 12, 31)
    level_count_osteoporotic: tuple[float, ...] = (0.70, 0.22, 0.08)
    level_count_pathologic: tuple[float, ...] = (0.55, 0.30, 0.15)
    levels_osteoporotic: tuple[tuple[str, float], ...] = _OSTEOPOROTIC_LEVELS
    levels_pathologic: tuple[tuple[str, float], ...] = _PATHOLOGIC_LEVELS
    cement_ml_thoracic: tuple[float, float] = (3.0, 1.0)
    cement_ml_lumbar: tuple[float, float] = (4.0, 1.2)
    cement_ml_range: tuple[float, float] = (1.0, 8.0)


@dataclass(frozen=True)
class CohortParameters:
    """Everything the synthetic cohort depends on besides its size and seed.

    Attributes
    ----------
    figures : CohortFigures
        The seed abstract's published figures (exact).
    ages, pain, follow_up, procedures : AgeModel, PainModel, FollowUpModel, ProcedureModel
        Assumptions, each with its source in its own docstring.
    sites : tuple of str
        Site codes; patients are spread uniformly over them. Default ``("SITE-A",)``: the seed study was
        at one institution.

    Examples
    --------
    >>> from dataclasses import replace
    >>> p = CohortParameters()
    >>> p2 = replace(p, pain=replace(p.pain, baseline_min=5))
    """

    figures: CohortFigures = field(default_factory=CohortFigures)
    ages: AgeModel = field(default_factory=AgeModel)
    pain: PainModel = field(default_factory=PainModel)
    follow_up: FollowUpModel = field(default_factory=FollowUpModel)
    procedures: ProcedureModel = field(default_factory=ProcedureModel)
    sites: tuple[str, ...] = ("SITE-A",)

    def __post_init__(self) -> None:
        _check_parameters(self)


def site_codes(count: int) -> tuple[str, ...]:
    """``SITE-A``, ``SITE-B``, … for ``count`` sites (1–26)."""
    if not 1 <= count <= 26:
        raise DomainError("sites", count, "the number of sites must be from 1 to 26")
    return tuple(f"SITE-{chr(ord('A') + i)}" for i in range(count))


def _need(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise DomainError(name, value, rule)


def _is_share_list(values: tuple[float, ...], length: int) -> bool:
    return len(values) == length and all(v >= 0 for v in values) and abs(sum(values) - 1) < 1e-9


def _check_parameters(p: CohortParameters) -> None:
    f = p.figures
    _need(f.patients >= 1, "figures.patients", f.patients, "must be at least 1")
    _need(0 <= f.women <= f.patients, "figures.women", f.women, "must lie between 0 and the patients")
    _need(0 <= f.pathologic <= f.patients, "figures.pathologic", f.pathologic, "must lie between 0 and the patients")
    _need(0 <= f.age_min < f.age_mean < f.age_max <= 120, "figures.age_mean", f.age_mean, "needs min < mean < max")
    mean = p.ages.pathologic_mean
    _need(f.age_min < mean < f.age_max, "ages.pathologic_mean", mean, "must lie inside the age range")

    pain = p.pain
    for name in ("improvement_osteoporotic", "improvement_pathologic"):
        values = getattr(pain, name)
        _need(len(values) == len(FOLLOW_UP_CODES), f"pain.{name}", values, "needs one value per timepoint post … 12m")
    rule = "must be 1–10 so that a post score fits below it"
    _need(1 <= pain.baseline_min <= 10, "pain.baseline_min", pain.baseline_min, rule)

    fu = p.follow_up
    per_visit = (
        "retention_osteoporotic", "retention_pathologic", "recurrence_onset_osteoporotic",
        "recurrence_onset_pathologic", "neurointerventional_share", "visit_day_target", "visit_day_sd",
    )  # fmt: skip
    for name in per_visit:
        values = getattr(fu, name)
        _need(len(values) == len(CLINIC_CODES), f"follow_up.{name}", values, "needs one value per visit 1w … 12m")
    for name in ("retention_osteoporotic", "retention_pathologic"):
        values = getattr(fu, name)
        falling = all(0 <= a <= 1 for a in values) and all(b <= a for a, b in zip(values, values[1:]))
        _need(falling, f"follow_up.{name}", values, "must be probabilities that never increase")
    rule = "needs three shares (days 0, 1, 2) adding up to 1"
    _need(_is_share_list(fu.post_day_shares, 3), "follow_up.post_day_shares", fu.post_day_shares, rule)

    pr = p.procedures
    _need(pr.first_date <= pr.last_date, "procedures.first_date", pr.first_date, "must not be after last_date")
    for name in ("level_count_osteoporotic", "level_count_pathologic"):
        values = getattr(pr, name)
        rule = "needs three shares (1, 2, 3 levels) adding up to 1"
        _need(_is_share_list(values, 3), f"procedures.{name}", values, rule)
    for name in ("levels_osteoporotic", "levels_pathologic"):
        pairs = getattr(pr, name)
        for level, weight in pairs:
            parse_level(level, field=f"procedures.{name}")
            _need(weight >= 0, f"procedures.{name}", weight, "weights must not be negative")
        _need(sum(w > 0 for _, w in pairs) >= 3, f"procedures.{name}", pairs, "needs three levels of positive weight")
    low, high = pr.cement_ml_range
    rule = f"must lie within 0–{CEMENT_ML_MAX:g} ml per level"
    _need(0 < low <= high <= CEMENT_ML_MAX, "procedures.cement_ml_range", pr.cement_ml_range, rule)
    _need(len(p.sites) >= 1 and all(p.sites), "sites", p.sites, "needs at least one site code")
