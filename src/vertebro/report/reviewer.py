"""The report's view of issue 12's sections: missing-data sensitivity, sites and funnel plots.

Plain-language sentences and figures from the unrounded contract (``missing_data_sensitivity``,
``sites``, ``benchmarking``); the template ``reviewer.html.j2`` lays them out. Sites appear in name
order with their funnel position, never ranked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

from . import formatting as fmt  # noqa: E402
from .figures import _RC, _new_figure, _to_data_uri  # noqa: E402
from .text import timepoint_label, timepoint_phrase  # noqa: E402

__all__ = ["funnel_figure", "reviewer_view"]

_GROUP_WORDS = {"osteoporotic": "the osteoporotic group's", "pathologic": "the pathologic group's", "both": "both groups'"}
_OUTCOME_AXES = {
    "mean_improvement": "Mean improvement ({tp}), points",
    "mean_improvement_risk_adjusted": "Risk-adjusted mean improvement ({tp}), points",
    "responders_30": "Share of ≥30% responders ({tp})",
    "responders_30_risk_adjusted": "Observed / expected responders ({tp})",
}
_OUTCOME_TITLES = {
    "mean_improvement": "Mean improvement",
    "mean_improvement_risk_adjusted": "Mean improvement, adjusted for baseline, age and sex",
    "responders_30": "≥30% responders",
    "responders_30_risk_adjusted": "≥30% responders, adjusted for baseline, age and sex (observed / expected)",
}


def reviewer_view(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """Context for ``reviewer.html.j2``: each section with its sentences and figures (None when absent)."""
    return {
        "missing": _missing_view(analysis.get("missing_data_sensitivity"), analysis.get("primary") or "post"),
        "sites": _sites_view(analysis.get("sites")),
        "benchmarking": _benchmarking_view(analysis.get("benchmarking")),
    }


def _missing_view(section: Mapping[str, Any] | None, primary: str) -> dict[str, Any] | None:
    if section is None:
        return None
    view: dict[str, Any] = {"reason": section.get("reason"), "m": section.get("m"), "seed": section.get("seed"), "rows": [], "tipping": [], "scenarios": []}
    if section.get("reason"):
        return view
    view["rows"] = section["timepoints"]
    delta = section["delta_adjusted"]
    rows: dict[tuple[str, str], list] = {}
    for scenario in delta["scenarios"]:  # contract order: timepoint, shifted group, delta
        rows.setdefault((scenario["timepoint"], scenario["shifted_group"]), []).append(scenario)
    view["scenarios"] = [
        {"timepoint": code, "group": "both groups" if group == "both" else group, "cells": cells}
        for (code, group), cells in rows.items()
    ]
    sentences = []
    for point in delta["tipping_points"]:
        if point["shifted_group"] == "both":
            continue
        where = timepoint_phrase(point["timepoint"])
        where = where[0].upper() + where[1:]
        verdict = "excludes" if point["excludes_zero_at_zero"] else "includes"
        if point["delta"] is None:
            sentences.append(
                f"{where}, making {_GROUP_WORDS[point['shifted_group']]} imputed scores worse by any amount up to "
                f"10 points leaves the conclusion as it is (the 95% interval {verdict} no difference)."
            )
        else:
            sentences.append(
                f"{where}, the conclusion (the 95% interval {verdict} no difference) changes once "
                f"{_GROUP_WORDS[point['shifted_group']]} imputed scores are {fmt.number(point['delta'], 2)} points worse."
            )
    view["tipping"] = sentences
    view["primary_label"] = timepoint_label(primary)
    return view


def _sites_view(section: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if section is None:
        return None
    return {
        "reason": section.get("reason"),
        "method": section.get("method"),
        "why": section.get("why"),
        "n_sites": section.get("n_sites"),
        "sites": section.get("sites") or [],
        "rows": section.get("timepoints") or [],
        "mixed": _variance_shares(section.get("mixed_model")),
    }


def _variance_shares(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The site and patient shares of the unexplained variance (intraclass correlations), for the text."""
    if not entry:
        return None
    view = {**entry, "site_share": None, "patient_share": None}
    parts = [entry.get(key) for key in ("site_variance", "patient_variance", "residual_variance")]
    if all(_finite(part) for part in parts) and sum(parts) > 0:
        view["site_share"], view["patient_share"] = parts[0] / sum(parts), parts[1] / sum(parts)
    return view


def _benchmarking_view(section: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if section is None:
        return None
    view: dict[str, Any] = {"reason": section.get("reason"), "timepoint": section.get("timepoint"), "outcomes": []}
    if section.get("reason"):
        return view
    where = timepoint_label(section["timepoint"])
    for key, outcome in (section.get("outcomes") or {}).items():
        outside = [row["site"] for row in outcome["sites"] if row.get("outside_99.8")]
        od = outcome.get("overdispersion") or {}
        if outside:
            sentence = f"Outside the 99.8% limits: {', '.join(outside)}."
        else:
            sentence = "Every site lies within the 99.8% limits: no site differs from the pooled value by more than chance would explain."
        if od.get("applied"):
            beyond = [row["site"] for row in outcome["sites"] if row.get("outside_99.8_overdispersion")]
            sentence += (
                f" The sites vary more than chance alone (overdispersion φ = {fmt.number(od['phi'], 2)}); with limits widened by √φ, "
                + (f"{', '.join(beyond)} remain{'s' if len(beyond) == 1 else ''} outside." if beyond else "every site lies within them.")
            )
        view["outcomes"].append(
            {
                "key": key, "title": _OUTCOME_TITLES[key], "sentence": sentence, "outcome": outcome,
                "figure": funnel_figure(outcome, _OUTCOME_AXES[key].format(tp=where), ratio=key.endswith("risk_adjusted") and key.startswith("responders")),
            }
        )  # fmt: skip
    return view


def funnel_figure(outcome: Mapping[str, Any], ylabel: str, *, ratio: bool = False) -> str | None:
    """Sites against their number of patients (or expected responders, for a ratio) with the target
    line and the 95% and 99.8% limits; dashed, the overdispersion-adjusted limits when they apply."""
    sites = [row for row in outcome.get("sites") or [] if _finite(row.get("value"))]
    curve = outcome.get("curve") or []
    if not sites or not curve:
        return None
    x_key = "expected" if ratio else "n"
    od = outcome.get("overdispersion") or {}
    with matplotlib.rc_context(_RC):
        figure = _new_figure(6.4, 3.8)
        ax = figure.add_subplot()
        xs = [point[x_key] for point in curve]
        for name, colour in (("95", "#56B4E9"), ("99.8", "#444444")):
            ax.plot(xs, [point[f"low_{name}"] for point in curve], color=colour, linewidth=1.0, label=f"{name}% limits")
            ax.plot(xs, [point[f"high_{name}"] for point in curve], color=colour, linewidth=1.0)
            if od.get("applied") and f"low_{name}_overdispersion" in curve[0]:
                ax.plot(xs, [point[f"low_{name}_overdispersion"] for point in curve], color=colour, linewidth=0.9, linestyle="--",
                        label=f"{name}% limits, overdispersion-adjusted")
                ax.plot(xs, [point[f"high_{name}_overdispersion"] for point in curve], color=colour, linewidth=0.9, linestyle="--")
        ax.axhline(outcome["target"], color="#009E73", linewidth=1.0, label="pooled value")
        px = [row["expected"] if ratio else row["n"] for row in sites]
        ax.plot(px, [row["value"] for row in sites], linestyle="none", marker="o", color="#0072B2", markersize=5)
        for x, row in zip(px, sites):
            ax.annotate(row["site"], (x, row["value"]), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_xlabel("Expected responders" if ratio else "Patients at the site")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, loc="best")
        return _to_data_uri(figure)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
