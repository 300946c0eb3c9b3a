"""The ANCOVA with cluster-robust errors by site against R's ``sandwich::vcovCL`` (sites_expected.R).

Tolerance: 1e-9 relative (the same least squares and sandwich, no iteration).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vertebro.stats.sites import cluster_robust_ancova, sites_section
from vertebro.stats.validate import validate_flat

R_DIR = Path(__file__).parent / "r"
EXPECTED = json.loads((R_DIR / "sites_expected.json").read_text())["cluster_robust"]


@pytest.fixture(scope="module")
def paired():
    flat = validate_flat(pd.read_csv(R_DIR / "sites_registry.csv", dtype=str, keep_default_na=False), source="fixture")
    baseline = flat[flat["timepoint"] == "baseline"].set_index("patient_id")["vps"].rename("baseline")
    return flat[flat["timepoint"] != "baseline"].join(baseline, on="patient_id", how="inner")


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_cluster_robust_errors_match_sandwich_vcovcl(paired, code):
    fit = cluster_robust_ancova(paired[paired["timepoint"] == code].rename(columns={"vps": "followup"}))
    expected = EXPECTED[code]
    for key in ("difference", "model_se", "robust_se", "ci_low", "ci_high", "p"):
        assert getattr(fit, key) == pytest.approx(expected[key], rel=1e-9), key
    assert (fit.df, fit.n, fit.n_sites) == (expected["df"], expected["n"], expected["n_sites"])
    assert fit.design_effect == pytest.approx((expected["robust_se"] / expected["model_se"]) ** 2, rel=1e-9)
    assert any("6 sites" in note for note in fit.notes)


def test_section_lists_sites_and_says_which_method_and_why(paired):
    section = sites_section(paired)
    assert section["reason"] is None
    assert section["n_sites"] == 6
    assert "cluster-robust" in section["method"] and "vcovCL" in section["method"]
    assert "changes its uncertainty, not the estimate" in section["why"]
    assert [row["timepoint"] for row in section["timepoints"]] == ["post", "1m", "3m", "12m"]
    assert sum(site["n_patients"] for site in section["sites"]) == paired["patient_id"].nunique()
    lmer = json.loads((R_DIR / "site_mixed_expected.json").read_text())["fixture"]
    assert section["mixed_model"]["etiology_difference"] == pytest.approx(lmer["fixef"][1], rel=1e-5)
    assert section["mixed_model"]["site_variance"] == pytest.approx(lmer["site_variance"], rel=1e-4)


def test_one_site_gives_nulls_with_a_reason(paired):
    section = sites_section(paired.assign(site="A"))
    assert section["timepoints"] is None and section["mixed_model"] is None
    assert "one site" in section["reason"]


def test_one_patient_per_site_gives_nulls_with_a_reason(paired):
    section = sites_section(paired.assign(site=paired["patient_id"]))
    assert section["timepoints"] is None
    assert "every site has one patient" in section["reason"]


def test_no_site_column_gives_nulls_with_a_reason(paired):
    section = sites_section(paired.drop(columns="site"))
    assert section["timepoints"] is None and section["n_sites"] is None
    assert "no site column" in section["reason"]


def test_a_timepoint_without_both_etiologies_is_null_with_a_note(paired):
    rows = paired[paired["timepoint"] == "post"]
    fit = cluster_robust_ancova(rows[rows["etiology"] == "osteoporotic"].rename(columns={"vps": "followup"}))
    assert fit.difference is None and fit.robust_se is None
    assert "both etiologies" in fit.notes[-1]
