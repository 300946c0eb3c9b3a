"""The follow-up model with site and patient random intercepts against ``lme4::lmer`` (site_mixed_expected.R).

Tolerances: REML criterion 1e-8 relative (both optimisers stop at the same minimum, within their
tolerances), fixed effects and standard errors 1e-5 relative (1e-6 absolute), variances 1e-4
relative (a flat criterion moves them more than the coefficients); a site variance on the boundary
is zero in both.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.stats.longitudinal import mixed_model_design
from vertebro.stats.site_mixed import fit_site_patient_model, site_mixed_summary
from vertebro.stats.validate import validate_flat

R_DIR = Path(__file__).parent / "r"
EXPECTED = json.loads((R_DIR / "site_mixed_expected.json").read_text())


@pytest.fixture(scope="module")
def paired():
    flat = validate_flat(pd.read_csv(R_DIR / "sites_registry.csv", dtype=str, keep_default_na=False), source="fixture")
    baseline = flat[flat["timepoint"] == "baseline"].set_index("patient_id")["vps"].rename("baseline")
    return flat[flat["timepoint"] != "baseline"].join(baseline, on="patient_id", how="inner")


def shuffled(paired):
    sites = pd.read_csv(R_DIR / "site_mixed_shuffled_sites.csv", dtype=str).set_index("patient_id")["site"]
    return paired.assign(site=paired["patient_id"].map(sites))


@pytest.mark.parametrize("case", ["fixture", "shuffled"])
def test_fit_matches_lmer_with_site_and_patient_intercepts(paired, case):
    rows = paired if case == "fixture" else shuffled(paired)
    design, names, _ = mixed_model_design(rows)
    fit = fit_site_patient_model(
        rows["vps"].to_numpy(float), design, rows["patient_id"].to_numpy(), rows["site"].to_numpy(), column_names=names
    )
    expected = EXPECTED[case]
    assert fit.reml_criterion == pytest.approx(expected["reml_criterion"], rel=1e-8)
    np.testing.assert_allclose(fit.coefficients["estimate"], expected["fixef"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.coefficients["se"], expected["se"], rtol=1e-5, atol=1e-6)
    assert fit.patient_variance == pytest.approx(expected["patient_variance"], rel=1e-4)
    assert fit.residual_variance == pytest.approx(expected["residual_variance"], rel=1e-4)
    if expected["singular"]:
        assert fit.site_variance == pytest.approx(0, abs=1e-8)
    else:
        assert fit.site_variance == pytest.approx(expected["site_variance"], rel=1e-4)
    assert (fit.n_observations, fit.n_sites) == (expected["n_observations"], 6)


def test_summary_reports_the_etiology_effect_and_wald_interval(paired):
    entry = site_mixed_summary(paired)
    expected = EXPECTED["fixture"]
    assert entry["etiology_difference"] == pytest.approx(expected["fixef"][1], rel=1e-5)
    assert entry["etiology_ci_high"] - entry["etiology_ci_low"] == pytest.approx(2 * 1.959963984540054 * expected["se"][1], rel=1e-5)
    assert entry["note"] is None and entry["reference_timepoint"] == "post"


def test_summary_without_both_etiologies_is_a_note(paired):
    entry = site_mixed_summary(paired[paired["etiology"] == "osteoporotic"])
    assert "both etiologies" in entry["note"] and entry["etiology_difference"] is None
