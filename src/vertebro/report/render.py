"""Assemble the report: analysis dict + flat rows → one self-contained HTML document.

Only display happens here: the numbers come from :func:`vertebro.stats.analysis.analyze` (the
``vertebro.analysis/1`` contract), :func:`vertebro.stats.table1.table1` and the descriptive
summaries, unrounded; the Jinja filters of :mod:`.formatting` round them on the way out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import jinja2
import pandas as pd

from .. import __version__
from ..domain.vocabulary import STUDY_GROUPS
from ..stats.flow import split_missing_rows
from ..stats.table1 import table1
from . import figures, summaries, text
from . import formatting as fmt
from .flow import flow_view
from .instruments import absent_measures, instrument_views
from .reviewer import reviewer_view

GROUP_LABELS = {"osteoporotic": "Osteoporotic", "pathologic": "Pathologic", "overall": "Both groups"}

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("vertebro.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the tests instead of printing nothing
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(fmt.FILTERS)


def render_report(
    df: pd.DataFrame,
    analysis: Mapping[str, Any],
    *,
    primary: str | None = None,
    source: str = "the registry",
    generated_on: date | None = None,
    notice: str | None = None,
    instruments: pd.DataFrame | None = None,
) -> str:
    """Render the HTML report.

    Parameters
    ----------
    df : pandas.DataFrame
        The flat-format rows the analysis was run on (Table 1, the pain curve, the improvement
        histogram and the Kaplan–Meier curves are drawn from them).
    analysis : mapping
        The ``vertebro.analysis/1`` dict returned by ``analyze(df, primary=primary)``.
    primary : str, optional
        The primary timepoint (power, headline, improvement histogram); by default the one the
        analysis names (``analysis["primary"]``), else ``"post"``.
    source : str
        Where the rows came from, named in the report header.
    generated_on : date, optional
        The date printed in the header (today by default).
    notice : str, optional
        A statement shown above everything else, e.g. that the data are synthetic.
    instruments : pandas.DataFrame, optional
        The instrument score frame the analysis's ``instruments`` section came from (each measure's
        figure and table of means are drawn from it; :mod:`.instruments`).

    Returns
    -------
    str
        A complete HTML document: CSS inline, figures as SVG data URIs, no external reference.
    """
    primary = primary or analysis.get("primary") or "post"
    df, _ = split_missing_rows(df)  # rows that only say why a score is missing are the flow's, not data
    timepoints = list(analysis.get("timepoints") or [])
    pain = summaries.pain_by_timepoint(df)
    improvement = summaries.improvement_at(df, primary)
    times = summaries.recurrence_times(df)
    forest_rows = _forest_rows(analysis, primary)
    km_ticks = figures.survival_ticks(times)
    context = {
        "title": "Pathologic versus osteoporotic vertebral compression fractures: response to vertebroplasty",
        "source": source,
        "notice": notice,
        "generated_on": (generated_on or date.today()).isoformat(),
        "data_cutoff": analysis.get("data_cutoff"),
        "version": __version__,
        "primary": primary,
        "primary_label": text.timepoint_label(primary),
        "label_of": text.timepoint_label,
        "groups": STUDY_GROUPS,
        "group_labels": GROUP_LABELS,
        "cohort": analysis.get("cohort") or {},
        "excluded": _excluded(analysis.get("cohort") or {}),
        "headline": text.headline(analysis, primary),
        "table1": _table1_view(table1(df)),
        "pain": _pain_view(pain),
        "pain_figure": figures.pain_trajectory(pain),
        "improvement_figure": figures.improvement_distribution(improvement, text.timepoint_phrase(primary)),
        "improvement_n": {g: int((improvement["group"] == g).sum()) for g in STUDY_GROUPS},
        "timepoints": timepoints,
        "rank_marks": _rank_marks(timepoints),
        "mixed": analysis.get("mixed_model") or {},
        "recurrence": analysis.get("recurrence") or {},
        "recurrence_counts": _recurrence_counts(analysis.get("recurrence"), times),
        "km_figure": figures.kaplan_meier(times),
        "km_ticks": km_ticks,
        "at_risk": summaries.at_risk(times, km_ticks),
        "forest_rows": forest_rows,
        "forest_figure": figures.forest(forest_rows),
        "completeness": list(analysis.get("completeness") or []),
        "channels": _channel_view(summaries.scores_by_channel(df)),
        "power_paragraph": text.power_paragraph(analysis, primary),
        "methods": text.methods_paragraphs(primary),
        "warnings": [_warning_text(w) for w in analysis.get("warnings") or []],
        "instruments": instrument_views(analysis, instruments, df),
        "instruments_absent": absent_measures(analysis),
        "reviewer": reviewer_view(analysis),
        "flow": flow_view(analysis),
    }
    return _ENVIRONMENT.get_template("report.html.j2").render(context)


def _channel_view(channels: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    return None if channels is None else channels.to_dict("records")


def _rank_marks(timepoints: list[Mapping[str, Any]]) -> dict[str, bool]:
    """Which rank tests carry an exact/approximate mark (the analysis says how each p was computed)."""
    groups = [group for entry in timepoints for group in ((entry.get("groups") or {}).values())]
    comparisons = [entry.get("comparison") or {} for entry in timepoints]
    return {
        "wilcoxon": any((group or {}).get("wilcoxon_method") for group in groups),
        "mann_whitney": any(comparison.get("mann_whitney_method") for comparison in comparisons),
    }


def _excluded(cohort: Mapping[str, Any]) -> int | None:
    """Patients in the input outside the two study groups (traumatic fractures)."""
    if cohort.get("other_etiology") is not None:
        return int(cohort["other_etiology"])
    try:
        return int(cohort["patients"]) - int(cohort["osteoporotic"]) - int(cohort["pathologic"])
    except (KeyError, TypeError, ValueError):
        return None


def _warning_text(warning: object) -> str:
    if isinstance(warning, Mapping):
        return str(warning.get("message") or warning)
    return str(warning)


def _table1_view(table: pd.DataFrame) -> dict[str, Any]:
    """Table 1 as display rows: ``{"label", "cells": {group: text}, "smd", "kind"}``."""
    columns = ("osteoporotic", "pathologic", "overall")
    sizes = table[table["variable"] == "patients"].set_index("group")["n"]
    rows: list[dict[str, Any]] = []

    def add(label: str, cells: dict[str, str], smd: object = math.nan, kind: str = "row") -> None:
        rows.append({"label": label, "cells": cells, "smd": fmt.number(smd), "kind": kind})

    def cut(variable: str, level: str = "") -> pd.DataFrame:
        part = table[(table["variable"] == variable) & (table["level"] == level)]
        return part.set_index("group")

    patients = cut("patients")
    add("Patients, n (%)", {g: fmt.count_percent(patients.at[g, "count"], sizes["overall"]) for g in columns[:2]}
        | {"overall": fmt.integer(sizes["overall"])})

    def categorical(variable: str, title: str, level_label) -> None:
        levels = list(dict.fromkeys(table.loc[table["variable"] == variable, "level"]))
        add(title, {g: "" for g in columns}, kind="head")
        for level in levels:
            part = cut(variable, level)
            add(level_label(level), {g: fmt.count_percent(part.at[g, "count"], part.at[g, "n"]) for g in columns},
                part["smd"].iloc[0], kind="sub")
        _missing_row(add, cut(variable, levels[0]) if levels else None, columns)

    def continuous(variable: str, title: str, detailed: bool = False) -> None:
        part = cut(variable)
        mean_sd = {g: _mean_sd(part.loc[g]) for g in columns}
        if not detailed:
            add(f"{title}, mean (SD)", mean_sd, part["smd"].iloc[0])
        else:
            add(title, {g: "" for g in columns}, kind="head")
            add("mean (SD)", mean_sd, part["smd"].iloc[0], kind="sub")
            add("median [IQR]", {g: _median_iqr(part.loc[g]) for g in columns}, kind="sub")
            add("range", {g: fmt.interval(part.at[g, "min"], part.at[g, "max"], 0) for g in columns}, kind="sub")
        _missing_row(add, part, columns)

    categorical("sex", "Sex, n (%)", {"F": "Female", "M": "Male"}.get)
    continuous("age", "Age, years", detailed=True)
    if (table["variable"] == "levels_treated").any():
        categorical("levels_treated", "Levels treated, n (%)", lambda lv: f"{lv} level{'s' if lv != '1' else ''}")
    if (table["variable"] == "cement_ml").any():
        continuous("cement_ml", "Cement volume, mL")
    continuous("baseline_vps", "Baseline pain (VPS 0–10)")
    headers = {g: f"{GROUP_LABELS[g]} (n = {fmt.integer(sizes[g])})" for g in columns}
    return {"columns": columns, "headers": headers, "rows": rows}


def _missing_row(add, part: pd.DataFrame | None, columns) -> None:
    if part is None or not (part["missing"].fillna(0) > 0).any():
        return
    add("not recorded", {g: fmt.integer(part.at[g, "missing"]) for g in columns}, kind="sub missing")


def _mean_sd(row: pd.Series) -> str:
    if fmt.is_missing(row["mean"]):
        return fmt.MISSING
    return f"{fmt.number(row['mean'], 1)} ({fmt.number(row['sd'], 1)})"


def _median_iqr(row: pd.Series) -> str:
    if fmt.is_missing(row["median"]):
        return fmt.MISSING
    return f"{fmt.number(row['median'], 1)} [{fmt.number(row['q1'], 1)}–{fmt.number(row['q3'], 1)}]"


def _pain_view(pain: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per timepoint: ``{"timepoint", "groups": {group: {n, mean, ci_low, ci_high}}}``."""
    rows = []
    for code, part in pain.groupby("timepoint", sort=False):
        rows.append({"timepoint": code, "groups": part.set_index("group").to_dict("index")})
    return rows


def _recurrence_counts(recurrence: Mapping[str, Any] | None, times: pd.DataFrame | None) -> dict[str, int] | None:
    """Patients in the survival analysis per group: the analysis's own count when it gives one."""
    if times is None:
        return None
    recurrence = recurrence or {}
    return {
        g: recurrence.get(f"patients_{g}") if recurrence.get(f"patients_{g}") is not None
        else int((times["group"] == g).sum())
        for g in STUDY_GROUPS
    }


def _forest_rows(analysis: Mapping[str, Any], primary: str) -> list[figures.ForestRow]:
    """Raw and ANCOVA differences at every timepoint, then the mixed model (estimate ± 1.96·SE)."""
    rows = []
    for entry in analysis.get("timepoints") or []:
        code = entry.get("timepoint")
        comparison = entry.get("comparison") or {}
        label = text.timepoint_label(code)
        for method, prefix in (("raw", ""), ("ancova", "ancova_")):
            estimate_key = "difference" if method == "raw" else "ancova_difference"
            rows.append(figures.ForestRow(
                label, method, _float(comparison.get(estimate_key)), _float(comparison.get(f"{prefix}ci_low")),
                _float(comparison.get(f"{prefix}ci_high")), emphasis=code == primary,
            ))
    mixed = analysis.get("mixed_model") or {}
    estimate, se = _float(mixed.get("etiology_difference")), _float(mixed.get("etiology_se"))
    # The analysis's own Wald interval when it gives one, so report and `vertebro analyze` agree.
    low, high = _float(mixed.get("etiology_ci_low")), _float(mixed.get("etiology_ci_high"))
    if (low is None or high is None) and estimate is not None and se is not None:
        low, high = estimate - 1.96 * se, estimate + 1.96 * se
    rows.append(figures.ForestRow("All follow-ups (mixed model)", "mixed", estimate, low, high))
    return rows


def _float(value: object) -> float | None:
    return None if fmt.is_missing(value) else float(value)
