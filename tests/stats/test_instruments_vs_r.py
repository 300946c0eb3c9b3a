"""Every number of the analysis contract's ``instruments`` section agrees with R (issue 10).

Expected values: tests/stats/r/instruments_*.expected.json, written by
``Rscript tests/stats/r/instruments_expected.R`` (the script says which R function produced each
value) from the score fixtures made by ``tests/stats/r/instruments_fixtures.py`` and the covariates of
the pain fixtures core_*.csv.

Tolerances, as for pain: 1e-6 relative for closed forms (t, Wilcoxon, Welch, Mann-Whitney, OLS,
Newcombe, Fisher); 1e-4 relative for the REML mixed model (lme4); 1e-12 / 1e-8 absolute slack for
values that are zero in one program and rounding noise in the other. Counts, methods and nulls exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vertebro.domain.instruments import MEASURES
from vertebro.stats.analysis import analyze
from vertebro.stats.instrument_scores import load_instrument_csv
from vertebro.stats.validate import load_flat_csv

from test_analysis_vs_r import flatten, lookup  # noqa: E402  (the same walk over the contract)

R_DIR = Path(__file__).parent / "r"
CLOSED_FORM = {"rel": 1e-6, "abs": 1e-12}
ITERATIVE = {"rel": 1e-4, "abs": 1e-8}
COUNTS = {"n", "responders_mcid", "ancova_n", "n_observations", "n_patients", "patients"}


@pytest.fixture(scope="module", params=["small", "registry"])
def pair(request):
    name = request.param
    expected = json.loads((R_DIR / f"instruments_{name}.expected.json").read_text())
    flat = load_flat_csv(R_DIR / f"core_{name}.csv")
    scores = load_instrument_csv(R_DIR / f"instruments_{name}.csv")
    return name, expected, analyze(flat, validated=True, instruments=scores)


def test_every_instrument_value_matches_r(pair):
    name, expected, actual = pair
    checked = 0
    for path, want in flatten(expected):
        got = lookup(actual["instruments"], path)
        where = f"{name}: instruments.{'.'.join(map(str, path))}"
        if want is None or isinstance(want, str):
            assert got == want, where
        elif path[-1] in COUNTS:
            assert got == want and isinstance(got, int), f"{where}: {got!r} != {want!r}"
        else:
            tolerance = ITERATIVE if "mixed_model" in path else CLOSED_FORM
            assert got == pytest.approx(want, **tolerance), where
        checked += 1
    assert checked > (350 if name == "small" else 150)


def test_the_fixtures_reach_exact_and_normal_paths_both_directions_and_the_mcid(pair):
    name, expected, _ = pair
    methods = {block["wilcoxon_method"] for m in expected.values() for t in m["timepoints"] for block in t["groups"].values()}
    assert {"exact", "normal"} <= methods if name == "small" else "normal" in methods
    if name == "small":
        assert {"rdq", "eq5d5l_index_us", "eq5d5l_vas", "mme_per_day"} <= set(expected)
        assert expected["rdq"]["timepoints"][0]["comparison"]["responders_mcid_fisher_p"] is not None
    else:
        assert set(expected) == {"rdq", "odi"}


def test_a_measure_without_scores_gives_a_note_and_no_numbers(pair):
    name, expected, actual = pair
    for code in MEASURES:
        section = actual["instruments"][code]
        if code in expected:
            assert section["note"] is None and section["timepoints"]
        else:
            assert section["note"].startswith("no ") and section["timepoints"] == [] and section["mixed_model"] is None


def test_higher_is_better_measures_count_a_rise_as_improvement(pair):
    name, _, actual = pair
    if name != "small":
        return
    vas = actual["instruments"]["eq5d5l_vas"]["timepoints"][0]["groups"]["osteoporotic"]
    assert vas["improvement_mean"] == pytest.approx(vas["followup_mean"] - vas["baseline_mean"])
    rdq = actual["instruments"]["rdq"]["timepoints"][0]["groups"]["osteoporotic"]
    assert rdq["improvement_mean"] == pytest.approx(rdq["baseline_mean"] - rdq["followup_mean"])
    assert actual["instruments"]["eq5d5l_vas"]["direction"] == "higher_is_better"


def test_left_out_instrument_rows_are_named_in_warnings(pair):
    name, _, actual = pair
    if name == "small":
        text = " ".join(actual["warnings"])
        assert "1 patients have instrument scores but no pain rows (left out): NOT-IN-PAIN-FILE" in text
        assert "instruments: 1 unscheduled instrument scores ignored" in text


def test_without_instrument_data_every_section_says_so_and_pain_keys_are_unchanged():
    flat = load_flat_csv(R_DIR / "core_small.csv")
    plain = analyze(flat, validated=True)
    assert all(section["note"].startswith("no instrument scores were given") for section in plain["instruments"].values())
    with_instruments = analyze(flat, validated=True, instruments=load_instrument_csv(R_DIR / "instruments_small.csv"))
    for key in ("cohort", "timepoints", "mixed_model", "recurrence", "power", "completeness"):
        assert with_instruments[key] == plain[key]
