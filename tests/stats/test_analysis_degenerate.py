"""Degenerate inputs never crash: each gives nulls, and a warning says why for every null."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vertebro.errors import VertebroError
from vertebro.stats.analysis import analyze

DAYS = {"baseline": -1, "post": 1, "1w": 7, "1m": 30, "3m": 90, "6m": 180, "12m": 365}


def flat(patients: list[tuple], *, recurrence: dict[str, str] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows from ``(patient_id, etiology, sex, age, {timepoint: score})``; recurrence maps a patient to the
    timepoint of its first recurrent pain."""
    recurrence = recurrence or {}
    rows = []
    for patient, etiology, sex, age, scores in patients:
        for timepoint, score in scores.items():
            after = list(DAYS).index(timepoint) >= list(DAYS).index(recurrence.get(patient, "never")) if patient in recurrence else False
            rows.append(
                {
                    "patient_id": patient, "site": "A", "sex": sex, "age": age, "etiology": etiology,
                    "procedure_date": "2023-01-02", "timepoint": timepoint, "days": DAYS[timepoint], "vps": score,
                    "venue": "primary_care",
                    "recurrent_pain": None if timepoint == "baseline" else int(after),
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame[columns] if columns else frame


def varied(prefix: str, etiology: str, count: int, *, timepoints=("post", "1m"), shift: int = 0) -> list[tuple]:
    """Patients with varying baselines and improvements."""
    patients = []
    for i in range(count):
        baseline = 5 + (i * 3) % 6
        scores = {"baseline": baseline}
        for k, code in enumerate(timepoints):
            scores[code] = max(0, min(10, baseline - 2 - (i + k) % 4 + shift))
        patients.append((f"{prefix}{i}", etiology, "F" if i % 3 else "M", 60 + (i * 7) % 30, scores))
    return patients


def section_prefixes(path: tuple, result: dict) -> tuple[str, ...]:
    """Which warnings may explain a null at ``path``."""
    head = path[0]
    if head == "timepoints":
        timepoint = result["timepoints"][path[1]]["timepoint"]
        if path[2] == "groups":
            return (f"{timepoint} {path[3]}:",)
        return (f"{timepoint} comparison:",)
    if head == "mixed_model":
        return ("mixed_model:", "there is no baseline score")
    if head == "recurrence":
        return ("recurrence",)
    if head == "power":
        return ("power",)
    if head == "data_cutoff":
        return ("completeness:",)
    return (f"{head}:",)


def instrument_null_explained(path: tuple, result: dict) -> bool:
    """An instrument section explains its nulls by its own note (no scores), or by having no MCID
    (responders); its other nulls need an ``instruments.<measure>:`` warning."""
    section = result["instruments"][path[1]]
    no_mcid = section["mcid"] is None and ("mcid" in path[-1] or "responders_mcid" in path[-1])
    return section["note"] is not None or no_mcid or any(w.startswith(f"instruments.{path[1]}:") for w in result["warnings"])


def assert_nulls_explained(result: dict) -> None:
    """Every null leaf has a warning from its section, and the whole thing is strict JSON."""
    json.dumps(result, allow_nan=False)

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, (*path, key))
        elif isinstance(value, list) and path != ("warnings",):
            for index, item in enumerate(value):
                yield from walk(item, (*path, index))
        elif value is None:
            yield path

    for path in walk(result, ()):
        if path[-1] in ("reason", "note"):
            continue  # an empty explanation: there is nothing to explain
        if path[0] == "instruments" and instrument_null_explained(path, result):
            continue
        prefixes = section_prefixes(path, result)
        assert any(w.startswith(prefixes) for w in result["warnings"]), f"{path} is null and no warning says why"


def group(result: dict, timepoint: str, etiology: str) -> dict:
    return next(t for t in result["timepoints"] if t["timepoint"] == timepoint)["groups"][etiology]


def comparison(result: dict, timepoint: str) -> dict:
    return next(t for t in result["timepoints"] if t["timepoint"] == timepoint)["comparison"]


def test_pathologic_group_empty_at_a_timepoint_gives_null_and_warning():
    patients = varied("o", "osteoporotic", 8, timepoints=("post", "1m")) + varied("p", "pathologic", 5, timepoints=("post",))
    result = analyze(flat(patients))
    empty = group(result, "1m", "pathologic")
    assert empty["n"] == 0 and empty["improvement_mean"] is None and empty["wilcoxon_p"] is None
    assert all(comparison(result, "1m")[key] is None for key in ("difference", "welch_p", "mann_whitney_p", "ancova_difference", "responders_30_difference"))
    assert "1m pathologic: no patient has both a baseline and this follow-up score" in result["warnings"]
    assert comparison(result, "post")["welch_p"] is not None
    assert_nulls_explained(result)


def test_one_group_only_gives_null_comparisons_and_etiology_effects():
    result = analyze(flat(varied("o", "osteoporotic", 10), recurrence={"o1": "1m", "o4": "post"}))
    assert result["cohort"]["pathologic"] == 0
    assert comparison(result, "post")["ancova_difference"] is None
    assert result["mixed_model"]["etiology_difference"] is None
    assert result["mixed_model"]["residual_variance"] is not None  # the rest of the model still fits
    assert result["recurrence"]["logrank_p"] is None and result["recurrence"]["events_osteoporotic"] == 2
    assert result["power"]["minimal_detectable_difference"] is None
    assert any("one etiology only" in w for w in result["warnings"])
    assert_nulls_explained(result)


def test_zero_variance_gives_null_t_tests_and_power_with_warnings():
    patients = [
        (f"o{i}", "osteoporotic", "F" if i % 2 else "M", 60 + i, {"baseline": 5 + i % 4, "post": 3 + i % 4}) for i in range(6)
    ] + [(f"p{i}", "pathologic", "F" if i % 2 else "M", 70 + i, {"baseline": 6 + i % 3, "post": 5 + i % 3}) for i in range(5)]
    result = analyze(flat(patients))
    osteo = group(result, "post", "osteoporotic")
    assert osteo["improvement_mean"] == 2.0 and osteo["improvement_sd"] == 0.0
    assert osteo["paired_t_p"] is None and osteo["ci_low"] is None
    assert osteo["wilcoxon_p"] is not None  # ranks exist: all differences tie
    compared = comparison(result, "post")
    assert compared["difference"] == 1.0 and compared["welch_p"] is None
    assert compared["ancova_difference"] == pytest.approx(1.0) and compared["ancova_p"] is None
    assert result["power"]["sd"] == 0.0 and result["power"]["power_observed"] is None
    assert any("zero variance" in w for w in result["warnings"])
    assert_nulls_explained(result)


def test_identical_improvements_in_both_groups_leave_mann_whitney_null():
    patients = [(f"o{i}", "osteoporotic", "F", 60 + i, {"baseline": 7, "post": 4}) for i in range(4)] + [
        (f"p{i}", "pathologic", "M", 70 + i, {"baseline": 6, "post": 3}) for i in range(3)
    ]
    result = analyze(flat(patients))
    assert comparison(result, "post")["mann_whitney_p"] is None
    assert any("Mann-Whitney test does not exist" in w for w in result["warnings"])
    assert_nulls_explained(result)


def test_no_baseline_rows_gives_null_improvements_mixed_model_and_power():
    patients = [(pid, et, sex, age, {k: v for k, v in scores.items() if k != "baseline"})
                for pid, et, sex, age, scores in varied("o", "osteoporotic", 5) + varied("p", "pathologic", 4)]  # fmt: skip
    result = analyze(flat(patients, recurrence={"p1": "1m"}))
    assert [t["timepoint"] for t in result["timepoints"]] == ["post", "1m"]
    assert group(result, "post", "osteoporotic")["n"] == 0
    assert result["mixed_model"]["n_observations"] == 0 and result["mixed_model"]["etiology_difference"] is None
    assert result["power"]["sd"] is None
    assert result["recurrence"]["events_pathologic"] == 1  # recurrence needs no baseline
    assert "there is no baseline score: improvement, comparisons, mixed model and power are null" in result["warnings"]
    assert_nulls_explained(result)


def test_primary_timepoint_nobody_reached_gives_null_power_and_says_so():
    result = analyze(flat(varied("o", "osteoporotic", 6) + varied("p", "pathologic", 4)), primary="12m")
    assert "12m" not in [t["timepoint"] for t in result["timepoints"]]
    assert result["power"]["timepoint"] == "12m" and result["power"]["minimal_detectable_difference"] is None
    assert any(w.startswith("power: nobody reached the primary timepoint 12m") for w in result["warnings"])
    assert_nulls_explained(result)


def test_no_recurrence_in_either_group_gives_null_logrank_and_hazard_ratio():
    result = analyze(flat(varied("o", "osteoporotic", 6) + varied("p", "pathologic", 4)))
    recurrence = result["recurrence"]
    assert (recurrence["events_osteoporotic"], recurrence["events_pathologic"]) == (0, 0)
    assert recurrence["logrank_p"] is None and recurrence["hazard_ratio"] is None
    assert recurrence["median_days_osteoporotic"] is None
    assert any("no recurrence in either group" in w for w in result["warnings"])
    assert_nulls_explained(result)


def test_group_with_no_events_keeps_logrank_but_not_hazard_ratio():
    result = analyze(flat(varied("o", "osteoporotic", 6) + varied("p", "pathologic", 4), recurrence={"o0": "post", "o2": "1m"}))
    assert result["recurrence"]["logrank_p"] is not None and result["recurrence"]["hazard_ratio"] is None
    assert any("no recurrence in the pathologic group" in w for w in result["warnings"])
    assert_nulls_explained(result)


def test_single_patient_per_group_gives_means_but_no_spread():
    result = analyze(flat(varied("o", "osteoporotic", 1) + varied("p", "pathologic", 1)))
    osteo = group(result, "post", "osteoporotic")
    assert osteo["n"] == 1 and osteo["improvement_mean"] is not None and osteo["improvement_sd"] is None
    assert comparison(result, "post")["difference"] is not None and comparison(result, "post")["welch_p"] is None
    assert result["cohort"]["age_sd"] is not None
    assert_nulls_explained(result)


def test_empty_input_gives_an_empty_answer():
    columns = ["patient_id", "sex", "age", "etiology", "timepoint", "vps", "days", "recurrent_pain"]
    result = analyze(pd.DataFrame({column: [] for column in columns}))
    assert result["cohort"]["patients"] == 0 and result["cohort"]["age_mean"] is None
    assert result["timepoints"] == []
    assert_nulls_explained(result)


def test_without_days_and_recurrent_pain_recurrence_is_null_with_a_warning():
    columns = ["patient_id", "sex", "age", "etiology", "timepoint", "vps"]
    result = analyze(flat(varied("o", "osteoporotic", 6) + varied("p", "pathologic", 4), columns=columns))
    assert result["recurrence"] is None
    assert "recurrence is null: the input has no days or recurrent_pain column" in result["warnings"]
    assert result["data_cutoff"] is None and result["completeness"][0]["groups"]["pathologic"]["expected"] == 4
    assert_nulls_explained(result)


def test_mixed_model_that_cannot_be_fitted_is_null_with_the_reason():
    # One follow-up per patient: patient and residual variance cannot be told apart.
    patients = varied("o", "osteoporotic", 6, timepoints=("post",)) + varied("p", "pathologic", 4, timepoints=("post",))
    result = analyze(flat(patients))
    assert result["mixed_model"]["etiology_difference"] is None and result["mixed_model"]["n_observations"] == 10
    assert any(w.startswith("mixed_model: the mixed model cannot be fitted") for w in result["warnings"])
    assert_nulls_explained(result)


def test_mixed_model_fitting_every_score_exactly_is_null_with_the_rule():
    # Two patients whose four follow-up scores are intercept + etiology + timepoint with no error.
    patients = [("o1", "osteoporotic", "F", 70, {"baseline": 8, "post": 4, "1m": 3}),
                ("p1", "pathologic", "F", 70, {"baseline": 8, "post": 6, "1m": 5})]  # fmt: skip
    result = analyze(flat(patients))
    assert result["mixed_model"]["etiology_difference"] is None and result["mixed_model"]["n_observations"] == 4
    assert any(
        w.startswith("mixed_model: the mixed model cannot be fitted: the fixed effects reproduce every response exactly")
        for w in result["warnings"]
    )
    assert_nulls_explained(result)

def test_a_primary_that_is_not_a_follow_up_timepoint_is_refused():
    with pytest.raises(VertebroError, match="the primary timepoint must be one of post, 1w, 1m, 3m, 6m, 12m"):
        analyze(flat(varied("o", "osteoporotic", 2)), primary="baseline")


def test_completeness_counts_only_windows_closed_by_the_cutoff():
    patients = varied("o", "osteoporotic", 4, timepoints=("post", "1m")) + varied("p", "pathologic", 2, timepoints=("post",))
    frame = flat(patients)
    frame.loc[frame["patient_id"] == "o3", "procedure_date"] = "2023-01-20"  # cut-off = 2023-01-20 + 30 days
    frame.loc[frame["patient_id"] == "p0", "procedure_date"] = "2022-12-01"  # its 1m window closed 2023-01-30
    result = analyze(frame)
    assert result["data_cutoff"] == "2023-02-19"
    rows = {row["timepoint"]: row["groups"] for row in result["completeness"]}
    assert list(rows) == ["baseline", "post", "1w", "1m"]  # 1w closed for everyone; 3m for nobody
    assert rows["1m"]["pathologic"] == {"expected": 1, "observed": 0, "missing": 1}  # p1's window still open
    assert rows["1m"]["osteoporotic"] == {"expected": 4, "observed": 4, "missing": 0}  # o3 seen before it closed
    assert rows["1w"]["osteoporotic"] == {"expected": 4, "observed": 0, "missing": 4}


def test_constant_and_collinear_design_columns_are_dropped_in_model_order():
    import numpy as np

    from vertebro.stats.compare import full_rank_columns

    ones = np.ones(6)
    group = np.array([0, 0, 0, 1, 1, 1.0])
    design = np.column_stack([ones, group, np.zeros(6), 2 * ones - group, np.arange(6.0)])
    assert full_rank_columns(design, ["intercept", "group", "zero", "combination", "trend"]) == ["intercept", "group", "trend"]
    assert full_rank_columns(np.zeros((0, 3)), ["a", "b", "c"]) == []


def test_one_sex_only_drops_sex_from_ancova_and_mixed_model_with_a_warning():
    patients = [(pid, et, "F", age, scores) for pid, et, _, age, scores in
                varied("o", "osteoporotic", 8, timepoints=("post", "1m")) + varied("p", "pathologic", 5, timepoints=("post", "1m"))]  # fmt: skip
    result = analyze(flat(patients))
    assert comparison(result, "post")["ancova_difference"] is not None
    assert result["mixed_model"]["dropped"] == ["sex[M]"] and result["mixed_model"]["etiology_difference"] is not None
    assert "post comparison: ANCOVA: sex_M is constant or collinear among these patients and was left out" in result["warnings"]
    assert_nulls_explained(result)


def test_power_far_in_the_noncentral_t_tail_does_not_break():
    from vertebro.stats.power import two_sample_power

    # scipy's noncentral t returns NaN for the lower tail here; the term is below Phi(-ncp) ~ 0.
    assert two_sample_power(30.0, 1.0, 100_000, 100_000) == 1.0
    assert two_sample_power(1.0, 1.0, 90_000, 10_000) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("share", "kept"),
    [(1e-2, True), (1e-5, True), (1e-9, False)],  # far from, near and beyond R's 1e-7 aliasing rule
)
def test_nearly_collinear_column_is_kept_or_dropped_by_r_s_rule(share, kept):
    import numpy as np

    from vertebro.stats.compare import full_rank_columns

    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 2))
    almost = x[:, 0] + x[:, 1] + share * rng.normal(size=200)
    design = np.column_stack([np.ones(200), x, almost])
    expected = ["intercept", "x1", "x2", "almost"] if kept else ["intercept", "x1", "x2"]
    assert full_rank_columns(design, ["intercept", "x1", "x2", "almost"]) == expected


def test_capture_below_the_registry_bar_and_differential_loss_are_warned():
    patients = varied("o", "osteoporotic", 4, timepoints=("post", "1m")) + varied("p", "pathologic", 4, timepoints=("post",))
    patients += varied("q", "pathologic", 1, timepoints=("post", "1m"))
    frame = flat(patients)
    frame.loc[frame["patient_id"].str.startswith(("p", "q")), "procedure_date"] = "2022-10-03"  # their 1m window has closed
    result = analyze(frame)
    notes = [w for w in result["warnings"] if w.startswith("completeness: 1m")]
    assert notes == [
        "completeness: 1m: capture of the pathologic group is below the 80% registries hold as their quality bar "
        "(osteoporotic 4 of 4 (100%), pathologic 1 of 5 (20%)), so the 1m estimates rest on the patients who came back",
        "completeness: 1m: capture differs between the groups by 80 percentage points (osteoporotic 4 of 4 (100%), "
        "pathologic 1 of 5 (20%)): a difference between them there may come from who was lost to follow-up",
    ]
    assert not any(w.startswith("completeness: post") for w in result["warnings"])  # everyone seen
