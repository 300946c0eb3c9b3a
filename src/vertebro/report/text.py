"""The report's prose: headline, power paragraph and methods, written from the analysis dict.

Numbers come unrounded from the ``vertebro.analysis/1`` contract and are rounded here, for display
only. A null gives words ("not available", "not reached"), never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.timepoints import BY_CODE
from ..stats.completeness import CAPTURE_BAR
from . import formatting as fmt

#: Change on the 0–10 scale that IMMPACT (Dworkin et al. 2008) calls moderately important (DESIGN.md §3).
IMPORTANT_CHANGE = 2.0


def timepoint_label(code: str) -> str:
    return BY_CODE[code].label if code in BY_CODE else code


def timepoint_phrase(code: str) -> str:
    """The timepoint inside a sentence: ``"just after the procedure"``, ``"at 3 months"``."""
    if code == "post":
        return "just after the procedure"
    return f"at {timepoint_label(code).lower()}"


def primary_entry(analysis: Mapping[str, Any], primary: str) -> Mapping[str, Any] | None:
    """The ``timepoints`` entry of the primary timepoint, or ``None`` when nobody reached it."""
    for entry in analysis.get("timepoints") or []:
        if entry.get("timepoint") == primary:
            return entry
    return None


def _group(entry: Mapping[str, Any] | None, group: str) -> Mapping[str, Any]:
    return ((entry or {}).get("groups") or {}).get(group) or {}


def headline(analysis: Mapping[str, Any], primary: str) -> str:
    """One sentence with the answer at the primary timepoint."""
    phrase = timepoint_phrase(primary)
    entry = primary_entry(analysis, primary)
    osteo, patho = _group(entry, "osteoporotic"), _group(entry, "pathologic")
    if entry is None or not (osteo.get("n") or patho.get("n")):
        return f"No patient has both a baseline score and a score {phrase}, so the groups cannot be compared."
    comparison = entry.get("comparison") or {}
    if fmt.is_missing(comparison.get("difference")):
        verdict = "the groups cannot be compared (see the warnings)."
    else:
        verdict = (
            f"the difference (osteoporotic minus pathologic) is {fmt.number(comparison.get('difference'))} points "
            f"(95% CI {fmt.interval(comparison.get('ci_low'), comparison.get('ci_high'))}, "
            f"Welch {fmt.p_clause(comparison.get('welch_p'))})."
        )
    if _estimated(osteo) and _estimated(patho):
        joined = (
            f"pain improved by a mean of {_mean_with_ci(osteo)} in osteoporotic fractures "
            f"and by {_mean_with_ci(patho)} in pathologic fractures"
        )
    else:
        joined = "; ".join(_improvement(group, name) for group, name in ((osteo, "osteoporotic"), (patho, "pathologic")))
    extra = " ".join(filter(None, (clinical_meaning(osteo, patho), capture_caveat(analysis, primary))))
    return f"{phrase[0].upper()}{phrase[1:]}, {joined}; {verdict}" + (f" {extra}" if extra else "")


def clinical_meaning(osteo: Mapping[str, Any], patho: Mapping[str, Any]) -> str:
    """Each group's mean improvement against the change a patient notices: 2 points, IMMPACT's
    "moderately important" (a threshold for individual patients, so it is not applied to the
    difference between the groups; Dworkin et al. 2008, 2009)."""
    scale = f"{IMPORTANT_CHANGE:g} points"
    groups = [(name, group["improvement_mean"]) for group, name in ((osteo, "osteoporotic"), (patho, "pathologic")) if _estimated(group)]
    if not groups:
        return ""
    above = [name for name, mean in groups if mean >= IMPORTANT_CHANGE]
    if len(above) == len(groups) == 2:
        return f"The mean improvement exceeds the {scale} IMMPACT counts as a moderately important change for a patient in both groups."
    if above:
        return f"The mean improvement reaches the {scale} IMMPACT counts as a moderately important change for a patient only in the {above[0]} group."
    return f"In no group does the mean improvement reach the {scale} IMMPACT counts as a moderately important change for a patient."


def capture_caveat(analysis: Mapping[str, Any], primary: str) -> str:
    """A warning in the headline itself when few of the patients due at the primary timepoint were seen."""
    entry = next((c for c in analysis.get("completeness") or [] if c.get("timepoint") == primary), None)
    low = []
    for group, counts in ((entry or {}).get("groups") or {}).items():
        expected, observed = counts.get("expected") or 0, counts.get("observed") or 0
        if expected and observed / expected < CAPTURE_BAR:
            low.append(f"{observed} of {expected} {group} patients due")
    if not low:
        return ""
    return f"Caution: {timepoint_phrase(primary)} only {' and '.join(low)} were seen (below the {CAPTURE_BAR:.0%} registries aim for)."


def _estimated(group: Mapping[str, Any]) -> bool:
    return not fmt.is_missing(group.get("improvement_mean"))


def _mean_with_ci(group: Mapping[str, Any]) -> str:
    return (
        f"{fmt.number(group.get('improvement_mean'))} points "
        f"(95% CI {fmt.interval(group.get('ci_low'), group.get('ci_high'))})"
    )


def _improvement(group: Mapping[str, Any], name: str) -> str:
    if _estimated(group):
        return f"pain improved by a mean of {_mean_with_ci(group)} in {name} fractures"
    reason = "no patient with both scores" if not group.get("n") else "see the warnings"
    return f"in {name} fractures the improvement could not be estimated ({reason})"


def power_paragraph(analysis: Mapping[str, Any], primary: str) -> str:
    """The power calculation in words, every number taken from ``analysis["power"]``."""
    phrase = timepoint_phrase(primary)
    power = analysis.get("power") or {}
    entry = primary_entry(analysis, primary)
    # analyze() also states the group sizes in the power section; the timepoint entry has them too.
    n_pathologic = power.get("n_pathologic", _group(entry, "pathologic").get("n"))
    n_osteoporotic = power.get("n_osteoporotic", _group(entry, "osteoporotic").get("n"))
    difference = ((entry or {}).get("comparison") or {}).get("difference")
    mdd = power.get("minimal_detectable_difference")
    needed = power.get("per_group_needed_equal")

    sentences = [
        f"With {fmt.integer(n_pathologic)} pathologic and {fmt.integer(n_osteoporotic)} osteoporotic "
        f"patients assessed {phrase} (pooled SD of improvement {fmt.number(power.get('sd'))} points), "
        + (
            f"the smallest difference detectable with 80% power (two-sided α = 0.05) is "
            f"{fmt.number(mdd)} points."
            if not fmt.is_missing(mdd)
            else "the smallest difference detectable with 80% power cannot be computed (see the warnings)."
        )
    ]
    if fmt.is_missing(difference):
        sentences.append("The observed difference is not available.")
    else:
        # Not "the power to detect the observed difference": it restates the p-value (see the methods).
        sentences.append(f"The observed difference is {fmt.number(difference)} points (osteoporotic minus pathologic).")
    if not fmt.is_missing(needed):
        sentences.append(
            f"To detect a difference of {fmt.number(abs(float(difference)) if not fmt.is_missing(difference) else None)} "
            f"points with 80% power, {fmt.integer(needed)} patients per group would be needed."
        )
    elif not fmt.is_missing(difference) and float(difference) == 0:
        sentences.append("No sample size gives 80% power for a difference of zero.")
    else:
        sentences.append("The number of patients per group needed for 80% power is not available.")
    return " ".join(sentences)


def methods_paragraphs(primary: str) -> list[str]:
    """The statistical methods, naming every test the analysis runs."""
    phrase = timepoint_phrase(primary)
    window = BY_CODE[primary] if primary in BY_CODE else None
    days = f" (days {window.first_day}–{window.last_day})" if window else ""
    return [
        "Pain was scored on the 0–10 visual pain scale (VPS). Improvement is the baseline score minus the "
        "follow-up score, so a positive value means less pain. Each timepoint is analysed on the patients "
        "with both a baseline and that timepoint's score; traumatic fractures are kept out of the two "
        "study groups. Every between-group difference is osteoporotic minus pathologic (positive: "
        f"osteoporotic fractures improved more). The primary comparison is {phrase}{days}.",
        "Table 1 gives means with sample SDs, medians with quartiles (R's type 7) and ranges; balance is "
        "shown as standardized mean differences (Austin 2009): (m₁ − m₂)/√((s₁² + s₂²)/2) for continuous "
        "variables and (p₁ − p₂)/√((p₁(1 − p₁) + p₂(1 − p₂))/2) for each category; |SMD| > 0.1 is "
        "commonly read as imbalance. Mean pain per timepoint uses every assessment at that timepoint, "
        "with t-based 95% confidence intervals.",
        "Within each group, improvement was tested with the paired t test and the Wilcoxon signed-rank "
        "test (as R's wilcox.test(paired = TRUE): zeros dropped, exact p-value when n < 50 without ties "
        "or zeros, otherwise the normal approximation with tie and continuity correction); the 95% CI of "
        "mean improvement is t-based.",
        "Between groups, improvement was compared with the Welch two-sample t test (with its 95% CI) and "
        "the Mann–Whitney (Wilcoxon rank-sum) test (as R's wilcox.test: exact p-value when both groups have "
        "fewer than 50 patients and no improvements tie, otherwise the normal approximation with tie and "
        "continuity correction), and by ANCOVA: ordinary least squares (OLS) of the "
        "follow-up score on etiology, baseline score, age and sex (reference levels osteoporotic and "
        "female), whose etiology coefficient is the adjusted difference in improvement.",
        "Responders are patients whose score fell by at least 30% or 50% of a baseline above zero "
        "(IMMPACT, Dworkin 2008). The difference in 30% responder proportions has Newcombe's hybrid "
        "score interval (Wilson score intervals without continuity correction) and the two-sided "
        "Fisher exact test.",
        "All follow-up scores of patients with a baseline entered a linear mixed model fitted by REML: "
        "score ~ etiology + timepoint + baseline + age + sex with a random intercept per patient. Its "
        "95% CI in the forest plot is the estimate ± 1.96·SE (Wald, normal approximation).",
        "Time to recurrent back pain is the first follow-up with recurrent pain, censored at the last "
        "follow-up otherwise. Curves are Kaplan–Meier estimates (95% bands by the exponential Greenwood "
        "formula, as lifelines computes them); groups were compared with the log-rank test and a Cox "
        "proportional hazards model (pathologic versus osteoporotic, Efron ties, Wald 95% CI). Recurrence "
        "is only known at follow-up encounters, so its time is the date of the encounter that found it, "
        "not its onset; and a patient who died is censored like one lost to follow-up, which treats death "
        "as if recurrence could still follow — where many die, as with metastatic disease, the curves "
        "overstate the chance of recurrence (a competing risk).",
        "Power is for a two-sample t test with pooled variance, two-sided α = 0.05 and df = n₁ + n₂ − 2, "
        "counting both tails of the noncentral t distribution, with the group sizes and the pooled SD "
        f"of improvement observed {phrase}. The power to detect the observed difference is not reported: "
        "it restates the p-value and is no evidence either way (Hoenig and Heisey 2001); the smallest "
        "detectable difference and the confidence interval say how large a difference the data can rule out.",
        "Figures and tables round for display only; every computation uses unrounded values. The "
        "statistics are checked against R (t.test, wilcox.test, lm, fisher.test, lme4::lmer, "
        "survival::survfit, survdiff and coxph) in the test suite.",
    ]
