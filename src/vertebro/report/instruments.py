"""The report's instrument sections: one per measure, with its figure, its tables and what it means.

Numbers come unrounded from the contract's ``instruments`` section
(:mod:`vertebro.stats.instruments`) and, for the figure and the table of means, from the score frame
itself (every score at each timepoint, as the pain curve does); the template rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..domain.instruments import INSTRUMENTS, MEASURES
from . import figures, summaries

__all__ = ["instrument_views"]


def instrument_views(analysis: Mapping[str, Any], scores: pd.DataFrame | None, flat: pd.DataFrame) -> list[dict[str, Any]]:
    """One view per measure the analysis has scores for, in the definitions' order.

    Each view: ``code``, ``label``, ``instrument`` (name, version, licence, scoring rule), ``better``
    ("lower"/"higher"), ``mcid`` and its source, ``decimals``, ``figure`` (data URI or None), ``means``
    (rows of timepoint → group → n, mean, CI), ``timepoints`` and ``mixed`` (the contract's blocks).
    """
    sections = analysis.get("instruments") or {}
    etiology = flat.drop_duplicates("patient_id").set_index("patient_id")["etiology"]
    views = []
    for code, section in sections.items():
        if not section.get("timepoints") or code not in MEASURES:
            continue
        measure = MEASURES[code]
        instrument = INSTRUMENTS[section["instrument"]]
        rows = pd.DataFrame(columns=["etiology", "timepoint", "vps"])
        if scores is not None:
            mine = scores[scores["measure"] == code]
            rows = pd.DataFrame({"etiology": mine["patient_id"].map(etiology), "timepoint": mine["timepoint"], "vps": mine["score"]})
        means = summaries.pain_by_timepoint(rows.dropna(subset=["etiology"]))
        pad = 0.05 * (measure.maximum - measure.minimum)
        figure = figures.pain_trajectory(
            means, ylabel=f"{_short(measure.label)}, mean (95% CI)", ylim=(measure.minimum - pad, measure.maximum + pad)
        )
        views.append(
            {
                "code": code,
                "label": measure.label,
                "instrument": instrument,
                "better": "higher" if measure.higher_is_better else "lower",
                "mcid": measure.mcid,
                "mcid_source": measure.mcid_source,
                "decimals": measure.decimals,
                "figure": figure,
                "means": [
                    {"timepoint": tp, "groups": part.set_index("group").to_dict("index")}
                    for tp, part in means.groupby("timepoint", sort=False)
                ],
                "timepoints": section["timepoints"],
                "mixed": section.get("mixed_model") or {},
                "patients": section.get("patients"),
            }
        )
    return views


def _short(label: str) -> str:
    """``"EQ-5D-5L index, United States (Pickard et al. 2019)"`` → ``"EQ-5D-5L index"``: an axis label."""
    return label.split(",")[0].split(" (")[0]


def absent_measures(analysis: Mapping[str, Any]) -> list[str]:
    """Labels of the measures without scores (the report lists them in one sentence)."""
    return [s["label"] for s in (analysis.get("instruments") or {}).values() if not s.get("timepoints")]
