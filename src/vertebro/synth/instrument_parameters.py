"""Named, sourced assumptions of the synthetic cohort's instruments (RDQ, ODI, EQ-5D-5L, analgesics).

The seed abstract reports pain only, so every figure here is an assumption; where a trial informed
it, the docstring names the trial. Answers are drawn **item by item** from a latent disability that
follows each patient's synthetic pain score at the same visit, then scored by the instrument
definitions (:mod:`vertebro.domain.instruments`) — so disability, quality of life and opioid use
improve when pain does, and every scoring rule (missing items, missing sections) is exercised.

The latent model: at a visit with pain score ``vps``, patient ``i`` has disability
``theta = intercept + pain_slope * (vps - 7) + u_i + e``, with ``u_i ~ N(0, patient_sd)`` and
``e ~ N(0, visit_sd)``. An RDQ statement is ticked with probability ``sigmoid(theta + d_j)``
(``d_j``: its difficulty, evenly spread over ``±item_spread``); an ODI section scores
``round(5 * sigmoid(theta + d_k) + noise)``; an EQ-5D dimension ``1 + round(4 * sigmoid(...))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DisabilityModel:
    """One instrument's latent disability (see the module docstring).

    Attributes
    ----------
    intercept : float
        ``theta`` at a pain score of 7.
    pain_slope : float
        Change of ``theta`` per pain point.
    patient_sd, visit_sd : float
        Lasting and visit-to-visit spread of ``theta``.
    item_spread : float
        Item difficulties spread evenly over ``-item_spread .. +item_spread``.
    answer_noise_sd : float
        Noise added to an ordinal item before it is rounded (ODI, EQ-5D).
    """

    intercept: float
    pain_slope: float
    patient_sd: float = 0.6
    visit_sd: float = 0.35
    item_spread: float = 1.2
    answer_noise_sd: float = 0.45


@dataclass(frozen=True)
class InstrumentModel:
    """Everything the synthetic instruments depend on.

    Attributes
    ----------
    rdq : DisabilityModel
        Intercept 1.15, slope 0.29. Calibration: baseline RDQ about 17 of 24 — the pooled INVEST and
        Buchbinder 2009 baselines (modified 23-item RDQ) were 17.3 (SD 2.8, n = 59) and 17.1 (4.0,
        n = 131) (Staples et al., BMJ 2011;343:d3952, Table 1), INVEST's lead site 18.0 (4.2) (Kallmes
        et al., AJNR 2009;30:1203); logit(17.2/24) = 0.93, raised to 1.15 by simulation (the spread of
        item difficulties and unanswered items pull the mean down). Change: RDQ fell by a mean 7.0 points one
        week after vertebroplasty (Trout et al., AJNR 2005;26:2652) while pain fell about 4.3 points,
        a logit change of 1.23: 0.29 per pain point. The synthetic baseline pain (about 7.2) is
        assumed, not the trials'.
    odi : DisabilityModel
        Intercept 0.25, slope 0.30: a baseline ODI near 55%. Assumption: no vertebroplasty trial's
        baseline ODI was verified from a source here; 55% (28 of 50 raw points) lies in the "severe
        disability" band (25–34 raw) of the ODI interpretation LOINC 97909-6 quotes. The slope mirrors
        the RDQ's.
    eq5d : DisabilityModel
        Intercept −1.2, slope 0.32, chosen by simulation so the baseline US-value-set index lands near 0.55: the
        INVEST baseline EQ-5D was 0.55 (SD 0.20) and Buchbinder's 0.50 (0.23) (Staples 2011, Table 1) —
        EQ-5D-3L with the US 3L value set, so only an approximate target for the 5L index.
    vas_baseline, vas_per_pain_point, vas_sd : float
        EQ VAS = 45 − 5 × (vps − 7) + N(0, 15), clipped to 0–100. Assumption (no trial baseline VAS
        was verified).
    sex_life_not_applicable : float
        0.35 of ODI forms leave section 8 (sex life, "if applicable") empty: the one-missing-section
        rule then applies. Assumption for an elderly cohort (mean age 72).
    item_nonresponse : float
        0.01: any other item is left unanswered. Assumption; gives RDQ forms with unticked items and
        the odd ODI with two sections missing (no index).
    instrument_skipped : float
        0.07: at a visit with a pain score, a given instrument is not completed at all. Assumption.
    opioid_baseline : float
        0.68 of patients take an opioid at baseline: self-reported opioid use in the pooled INVEST and
        Buchbinder vertebroplasty arms, 72 of 106 (Staples 2011, Table 1).
    opioid_per_pain_point : float
        Log-odds of opioid use change by 0.45 per pain point. Assumption.
    opioid_drugs : tuple of (str, float)
        Drug shares among opioid users: oxycodone 0.35, tramadol 0.25, hydrocodone 0.2, morphine 0.1,
        fentanyl patch 0.1. Assumption.
    opioid_doses : tuple of (str, tuple of float)
        Dose per administration (mg; fentanyl mcg/hr) drawn uniformly from these. Assumption.
    opioid_doses_per_day : tuple of float
        Administrations per day, drawn uniformly (patches: not used). Assumption.
    paracetamol_share : float
        0.6 of patients take paracetamol 1000 mg three or four times a day. Assumption.
    """

    rdq: DisabilityModel = field(default_factory=lambda: DisabilityModel(1.15, 0.29))
    odi: DisabilityModel = field(default_factory=lambda: DisabilityModel(0.25, 0.30))
    eq5d: DisabilityModel = field(default_factory=lambda: DisabilityModel(-1.2, 0.32))
    vas_baseline: float = 45.0
    vas_per_pain_point: float = 5.0
    vas_sd: float = 15.0
    sex_life_not_applicable: float = 0.35
    item_nonresponse: float = 0.01
    instrument_skipped: float = 0.07
    opioid_baseline: float = 0.68
    opioid_per_pain_point: float = 0.45
    opioid_drugs: tuple[tuple[str, float], ...] = (
        ("oxycodone", 0.35), ("tramadol", 0.25), ("hydrocodone", 0.2), ("morphine", 0.1), ("fentanyl", 0.1),
    )  # fmt: skip
    opioid_doses: tuple[tuple[str, tuple[float, ...]], ...] = (
        ("oxycodone", (5.0, 10.0)), ("tramadol", (50.0, 100.0)), ("hydrocodone", (5.0, 10.0)),
        ("morphine", (10.0, 15.0, 30.0)), ("fentanyl", (12.0, 25.0)),
    )  # fmt: skip
    opioid_doses_per_day: tuple[float, ...] = (2.0, 3.0, 4.0)
    paracetamol_share: float = 0.6
