"""The study's answer as one JSON-ready dict: the ``vertebro.analysis/1`` contract (issue 3).

:func:`analyze` validates the flat rows, splits them into the two study groups and assembles the
sections computed by the other modules of this package. Numbers are never rounded; a value that does
not exist is ``None`` and the ``warnings`` list says why.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ..domain.flat import ANALYSIS_REQUIRED_COLUMNS
from ..domain.timepoints import FOLLOW_UP_CODES, UNSCHEDULED
from ..domain.vocabulary import STUDY_GROUPS
from ..errors import VertebroError
from .compare import ancova, rank_sum_test, responder_difference, welch_test
from .completeness import completeness
from .flow import patient_flow, split_missing_rows
from .instruments import analyze_instruments
from .descriptive import cohort_summary
from .longitudinal import etiology_mixed_model
from .paired import paired_summary
from .power import power_analysis
from .recurrence import compare_recurrence, time_to_recurrence
from .reviewer import ReviewerSettings, reviewer_sections
from .validate import RECURRENCE_COLUMNS, validate_flat

__all__ = ["SCHEMA", "analyze"]

SCHEMA = "vertebro.analysis/1"
_OSTEOPOROTIC, _PATHOLOGIC = STUDY_GROUPS

#: Columns any section reads; the others (site, venue, levels, ...) are dropped before the work starts.
_ANALYSIS_COLUMNS = (*ANALYSIS_REQUIRED_COLUMNS, *RECURRENCE_COLUMNS, "procedure_date", "site")

GROUP_KEYS = (
    "n", "baseline_mean", "followup_mean", "improvement_mean", "improvement_sd", "ci_low", "ci_high",
    "paired_t_p", "wilcoxon_p", "wilcoxon_method", "evaluable", "responders_30", "responders_50",
)  # fmt: skip


def analyze(
    df: pd.DataFrame,
    *,
    primary: str = "post",
    validated: bool = False,
    instruments: pd.DataFrame | None = None,
    reviewer: ReviewerSettings = ReviewerSettings(),
) -> dict[str, Any]:
    """Compare the response to vertebroplasty of osteoporotic and pathologic fractures.

    Parameters
    ----------
    df : pandas.DataFrame
        Flat format (:mod:`vertebro.domain.flat`), one row per pain assessment; validated here with
        :func:`vertebro.stats.validate.validate_flat` unless ``validated``. Rows of other etiologies
        (traumatic) and unscheduled rows are left out with a warning.
    primary : str
        The follow-up timepoint of the power section.
    validated : bool
        True only when ``df`` is, unchanged, what :func:`~vertebro.stats.validate.validate_flat` or
        :func:`~vertebro.stats.validate.load_flat_csv` returned: the rules were checked and the
        columns typed already, so the second validation (a third of the time on a large file) is
        skipped. Any other frame must be validated here (the default).
    reviewer : ReviewerSettings
        Imputations, seed and workers of issue 12's sections, or ``enabled=False`` to leave them null.

    Returns
    -------
    dict
        JSON-serialisable, keys as issue 3 specifies: ``schema``, ``primary``, ``cohort``,
        ``timepoints``, ``mixed_model``, ``recurrence``, ``power``, ``completeness``, ``warnings``
        (plus ``data_cutoff`` and, issue 10, ``instruments``: one section per measure; issue 12,
        ``missing_data_sensitivity``, ``sites`` and ``benchmarking`` (:mod:`vertebro.stats.reviewer`) and ``flow``
        (:class:`vertebro.stats.flow.Flow` as a dict)). Every between-group difference is osteoporotic minus pathologic.

    Raises
    ------
    VertebroError
        When ``primary`` is not a follow-up timepoint.
    vertebro.stats.validate.FlatDataError
        When the rows break a rule.
    """
    if primary not in FOLLOW_UP_CODES:
        raise VertebroError(f"the primary timepoint must be one of {', '.join(FOLLOW_UP_CODES)}, not {primary!r}.")
    if validated:
        _check_looks_validated(df)
        flat = df
    else:
        flat = validate_flat(df, source="input")
    flat, missing_rows = split_missing_rows(flat)
    flow = patient_flow(flat, missing_rows)
    # Only the columns the statistics use: every selection below copies what it keeps.
    flat = flat[[column for column in _ANALYSIS_COLUMNS if column in flat.columns]]
    warnings: list[str] = []

    cohort = cohort_summary(flat)
    warnings.extend(f"cohort: {note}" for note in cohort.notes)
    if cohort.other_etiology:
        other = sorted(set(flat["etiology"]) - set(STUDY_GROUPS))
        warnings.append(
            f"{_patients(cohort.other_etiology)} of etiology {', '.join(other)} counted in the cohort but "
            "left out of the group comparisons"
        )
    unscheduled = int((flat["timepoint"] == UNSCHEDULED).sum())
    if unscheduled:
        noun = "assessment" if unscheduled == 1 else "assessments"
        warnings.append(f"{unscheduled} unscheduled {noun} (outside every timepoint window) ignored")
    study = flat[flat["etiology"].isin(STUDY_GROUPS) & (flat["timepoint"] != UNSCHEDULED)]
    # Categories make the many group and timepoint comparisons below cheap on a million rows.
    study = study.astype({"etiology": "category", "timepoint": "category", "sex": "category"})

    baseline = study.loc[study["timepoint"] == "baseline"].set_index("patient_id")["vps"]
    if study.size and baseline.empty:
        warnings.append("there is no baseline score: improvement, comparisons, mixed model and power are null")
    followups = study[study["timepoint"] != "baseline"]
    paired = followups.join(baseline.rename("baseline"), on="patient_id", how="inner")

    present = [code for code in FOLLOW_UP_CODES if (followups["timepoint"] == code).any()]
    by_timepoint = dict(tuple(paired.groupby("timepoint", observed=True, sort=False)))
    timepoints = [_timepoint_section(by_timepoint.get(code, paired.iloc[:0]), code, warnings) for code in present]

    mixed = etiology_mixed_model(paired)
    warnings.extend(f"mixed_model: {note}" for note in mixed.notes)

    recurrence = _recurrence_section(followups, warnings)
    power = _power_section(paired, primary, present, warnings)

    warnings.extend(f"flow: {note}" for note in flow.notes)
    done = completeness(study)
    warnings.extend(f"completeness: {note}" for note in done.notes)
    completeness_rows = [
        {
            "timepoint": code,
            "groups": {
                row.group: {"expected": row.expected, "observed": row.observed, "missing": row.missing}
                for row in rows.itertuples(index=False)
            },
        }
        for code, rows in done.table.groupby("timepoint", sort=False)
    ]

    result = {
        "schema": SCHEMA,
        "primary": primary,
        "cohort": {key: value for key, value in asdict(cohort).items() if key != "notes"},
        "timepoints": timepoints,
        "mixed_model": {key: value for key, value in asdict(mixed).items() if key != "notes"},
        "recurrence": recurrence,
        "power": power,
        "completeness": completeness_rows,
        "data_cutoff": done.cutoff,
        "instruments": analyze_instruments(instruments, flat, warnings),
        **reviewer_sections(study, paired, primary=primary, settings=reviewer, warnings=warnings),
        "flow": flow.as_dict(),
        "warnings": warnings,
    }
    return _json_ready(result, "", warnings)


def _check_looks_validated(df: pd.DataFrame) -> None:
    """A cheap guard against ``validated=True`` on a frame that never went through validation.

    It looks at the column names and types only (what :func:`validate_flat` produces), not at values.
    """
    missing = [column for column in ANALYSIS_REQUIRED_COLUMNS if column not in df.columns]
    typed = not missing and df["vps"].dtype == np.float64 and df["age"].dtype == np.int64
    if not typed:
        raise ValueError(
            "validated=True needs the frame validate_flat or load_flat_csv returned "
            "(required columns present, vps float64, age int64); pass validated=False to validate it here"
        )


def _patients(count: int) -> str:
    return f"{count} patient" if count == 1 else f"{count} patients"


def _timepoint_section(rows: pd.DataFrame, code: str, warnings: list[str]) -> dict[str, Any]:
    """Per-group change from baseline and the between-group comparison at one follow-up timepoint."""
    groups: dict[str, Any] = {}
    improvements = {}
    summaries = {}
    for group in STUDY_GROUPS:
        mine = rows[rows["etiology"] == group]
        summary = paired_summary(mine["baseline"].to_numpy(), mine["vps"].to_numpy())
        summaries[group] = summary
        improvements[group] = mine["baseline"].to_numpy(float) - mine["vps"].to_numpy(float)
        warnings.extend(f"{code} {group}: {note}" for note in summary.notes)
        groups[group] = {key: getattr(summary, key) for key in GROUP_KEYS}

    x, y = improvements[_OSTEOPOROTIC], improvements[_PATHOLOGIC]
    welch = welch_test(x, y)
    rank_sum = rank_sum_test(x, y)
    adjusted = ancova(rows.rename(columns={"vps": "followup"}))
    osteo, patho = summaries[_OSTEOPOROTIC], summaries[_PATHOLOGIC]
    responders = responder_difference(osteo.responders_30, osteo.evaluable, patho.responders_30, patho.evaluable)
    for note in (*welch.notes, *rank_sum.notes, *adjusted.notes, *responders.notes):
        warnings.append(f"{code} comparison: {note}")
    comparison = {
        "difference": welch.difference,
        "ci_low": welch.ci_low,
        "ci_high": welch.ci_high,
        "welch_p": welch.p,
        "welch_df": welch.df,
        "mann_whitney_p": rank_sum.p,
        "mann_whitney_method": rank_sum.method,
        "ancova_difference": adjusted.difference,
        "ancova_ci_low": adjusted.ci_low,
        "ancova_ci_high": adjusted.ci_high,
        "ancova_p": adjusted.p,
        "ancova_n": adjusted.n,
        "responders_30_difference": responders.difference,
        "responders_30_ci_low": responders.ci_low,
        "responders_30_ci_high": responders.ci_high,
        "responders_30_fisher_p": responders.fisher_p,
    }
    return {"timepoint": code, "groups": groups, "comparison": comparison}


def _recurrence_section(followups: pd.DataFrame, warnings: list[str]) -> dict[str, Any] | None:
    missing = [column for column in RECURRENCE_COLUMNS if column not in followups.columns]
    if missing:
        warnings.append(f"recurrence is null: the input has no {' or '.join(missing)} column")
        return None
    unrecorded = int(followups["recurrent_pain"].isna().sum())
    if unrecorded:
        warnings.append(
            f"recurrence: {unrecorded} follow-up rows have no recurrent_pain value; they count as follow-up "
            "without recurrence"
        )
    result = compare_recurrence(time_to_recurrence(followups))
    warnings.extend(f"recurrence: {note}" for note in result.notes)
    return {key: value for key, value in asdict(result).items() if key != "notes"}


def _power_section(paired: pd.DataFrame, primary: str, present: list[str], warnings: list[str]) -> dict[str, Any]:
    rows = paired[paired["timepoint"] == primary]
    improvement = rows["baseline"].to_numpy(float) - rows["vps"].to_numpy(float)
    groups = rows["etiology"].to_numpy()
    result = power_analysis(improvement[groups == _OSTEOPOROTIC], improvement[groups == _PATHOLOGIC])
    if primary not in present:
        warnings.append(f"power: nobody reached the primary timepoint {primary}; choose another with --primary")
    warnings.extend(f"power ({primary}): {note}" for note in result.notes)
    section = {key: value for key, value in asdict(result).items() if key not in ("notes", "n1", "n2")}
    return {"timepoint": primary, "n_osteoporotic": result.n1, "n_pathologic": result.n2, **section}


def _json_ready(value: Any, path: str, warnings: list[str]) -> Any:
    """Plain Python types only; a non-finite number becomes None with a warning naming its place."""
    if isinstance(value, dict):
        return {key: _json_ready(item, f"{path}.{key}" if path else key, warnings) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if value is warnings:
            return value
        return [_json_ready(item, f"{path}[{index}]", warnings) for index, item in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        warnings.append(f"{path} is null: it came out as {value}, which has no meaning here")
        return None
    return value
