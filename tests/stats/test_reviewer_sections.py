"""Issue 12's sections in the ``vertebro.analysis/1`` contract: new keys only, nulls with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vertebro.stats.analysis import analyze
from vertebro.stats.reviewer import SECTION_KEYS, ReviewerSettings

from test_analysis_degenerate import assert_nulls_explained, flat, varied

R_DIR = Path(__file__).parent / "r"


@pytest.fixture(scope="module")
def registry():
    return pd.read_csv(R_DIR / "sites_registry.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def full(registry):
    return analyze(registry, reviewer=ReviewerSettings(imputations=5, seed=3))


def test_new_sections_add_keys_and_change_no_existing_one(registry, full):
    core = analyze(registry, reviewer=ReviewerSettings(enabled=False))
    assert all(core[key] is None for key in SECTION_KEYS)
    for key in core:
        if key not in (*SECTION_KEYS, "warnings"):
            assert full[key] == core[key], key
    assert [w for w in core["warnings"] if not w.startswith(SECTION_KEYS)] == [
        w for w in full["warnings"] if not w.startswith(SECTION_KEYS)
    ]
    assert all(key in full for key in SECTION_KEYS)


def test_full_contract_is_strict_json_and_every_null_explained(full):
    json.dumps(full, allow_nan=False)
    assert_nulls_explained(full)


def test_missing_data_section_pools_every_follow_up_and_lists_delta_scenarios(full):
    section = full["missing_data_sensitivity"]
    assert section["reason"] is None and section["m"] == 5 and section["seed"] == 3
    assert [row["timepoint"] for row in section["timepoints"]] == ["post", "1m", "3m", "12m"]
    assert all(row["se"] ** 2 == pytest.approx(row["total_variance"]) for row in section["timepoints"])
    scenarios = section["delta_adjusted"]["scenarios"]
    assert {(s["timepoint"], s["shifted_group"], s["delta"]) for s in scenarios} == {
        (code, group, delta) for code in ("post", "12m") for group in ("osteoporotic", "pathologic", "both") for delta in (0.0, 0.5, 1.0, 2.0)
    }
    # worse imputed osteoporotic scores can only shrink the osteoporotic-minus-pathologic difference
    osteo = [s["difference"] for s in scenarios if s["timepoint"] == "12m" and s["shifted_group"] == "osteoporotic"]
    assert osteo == sorted(osteo, reverse=True)


def test_the_same_seed_gives_the_same_section(registry, full):
    again = analyze(registry, reviewer=ReviewerSettings(imputations=5, seed=3))
    assert again["missing_data_sensitivity"] == full["missing_data_sensitivity"]
    other = analyze(registry, reviewer=ReviewerSettings(imputations=5, seed=4))
    assert other["missing_data_sensitivity"]["timepoints"] != full["missing_data_sensitivity"]["timepoints"]


def test_sites_and_benchmarking_are_filled_with_six_sites(full):
    assert full["sites"]["n_sites"] == 6 and full["sites"]["reason"] is None
    assert full["benchmarking"]["n_sites"] == 6
    assert set(full["benchmarking"]["outcomes"]) == {
        "mean_improvement", "mean_improvement_risk_adjusted", "responders_30", "responders_30_risk_adjusted"
    }  # fmt: skip


def test_one_site_and_no_missing_follow_up_give_nulls_with_reasons():
    patients = varied("o", "osteoporotic", 8) + varied("p", "pathologic", 6)
    result = analyze(flat(patients), reviewer=ReviewerSettings(imputations=3))
    assert result["missing_data_sensitivity"]["timepoints"] is None
    assert "no follow-up score of a patient due is missing" in result["missing_data_sensitivity"]["reason"]
    assert result["sites"]["timepoints"] is None and "one site" in result["sites"]["reason"]
    assert result["benchmarking"]["outcomes"] is None and "one site" in result["benchmarking"]["reason"]
    assert_nulls_explained(result)


def test_one_patient_per_site_gives_nulls_with_reasons():
    patients = varied("o", "osteoporotic", 8) + varied("p", "pathologic", 6)
    rows = flat(patients)
    rows["site"] = rows["patient_id"]
    result = analyze(rows, reviewer=ReviewerSettings(imputations=3))
    assert "every site has one patient" in result["sites"]["reason"]
    assert "one patient" in result["benchmarking"]["reason"]
    assert_nulls_explained(result)


def test_missing_follow_ups_of_one_group_only_are_imputed():
    patients = varied("o", "osteoporotic", 10, timepoints=("post", "1m", "3m"))
    patients += varied("p", "pathologic", 8, timepoints=("post", "3m")) + varied("q", "pathologic", 4, timepoints=("post", "1m", "3m"))
    result = analyze(flat(patients), reviewer=ReviewerSettings(imputations=4))
    rows = {row["timepoint"]: row for row in result["missing_data_sensitivity"]["timepoints"]}
    assert rows["1m"]["imputed"] == {"osteoporotic": 0, "pathologic": 8}
    assert rows["post"]["imputed"] == {"osteoporotic": 0, "pathologic": 0}
    assert rows["1m"]["n"] == 22 and rows["1m"]["between_variance"] > 0
    assert_nulls_explained(result)


def test_follow_ups_not_yet_due_are_not_counted_as_missing():
    # the data cut-off is day 30 of these procedures: the 1m window (to day 60) is still open
    patients = varied("o", "osteoporotic", 10, timepoints=("post", "1m")) + varied("p", "pathologic", 8, timepoints=("post",))
    result = analyze(flat(patients), reviewer=ReviewerSettings(imputations=4))
    assert "no follow-up score of a patient due is missing" in result["missing_data_sensitivity"]["reason"]
    assert_nulls_explained(result)


def test_core_only_warns_that_the_sections_were_left_out(registry):
    result = analyze(registry, reviewer=ReviewerSettings(enabled=False))
    for key in SECTION_KEYS:
        assert f"{key}: left out on request (core analysis only)" in result["warnings"]
