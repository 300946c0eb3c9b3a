"""Every number of the vertebro.analysis/1 contract agrees with R on the committed fixtures.

Expected values: tests/stats/r/core_*.expected.json, written by ``Rscript tests/stats/r/make_expected.R``
(the script says which R function produced each value) from the fixtures made by
``tests/stats/r/core_fixtures.py``.

Tolerances: 1e-6 relative for closed forms (t, Wilcoxon, Welch, Mann-Whitney, OLS, Newcombe, Fisher,
Kaplan-Meier, log-rank, power); 1e-4 relative for iterative fits (Cox, lme4). An absolute slack of 1e-12
(1e-8 for the iterative fits) only stops a value that is 0 in one program and 1e-17 in the other from
failing a relative test. Counts, methods and nulls must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vertebro.stats.analysis import analyze
from vertebro.stats.validate import load_flat_csv

R_DIR = Path(__file__).parent / "r"
FIXTURES = ["core_small", "core_registry"]
CLOSED_FORM = {"rel": 1e-6, "abs": 1e-12}
ITERATIVE = {"rel": 1e-4, "abs": 1e-8}
COUNT_KEYS = {
    "n", "evaluable", "responders_30", "responders_50", "patients", "female", "male", "age_min", "age_max",
    "osteoporotic", "pathologic", "n_observations", "n_patients", "patients_osteoporotic", "patients_pathologic",
    "events_osteoporotic", "events_pathologic", "n_osteoporotic", "n_pathologic", "per_group_needed_equal",
    "expected", "observed", "missing", "ancova_n",
}  # fmt: skip
ITERATIVE_KEYS = {
    ("recurrence", "hazard_ratio"), ("recurrence", "hr_ci_low"), ("recurrence", "hr_ci_high"),
    *(("mixed_model", key) for key in (
        "etiology_difference", "etiology_se", "etiology_ci_low", "etiology_ci_high",
        "patient_variance", "residual_variance",
    )),
}  # fmt: skip


def flatten(value, path=()):
    """(path, leaf) pairs of a nested dict/list, so every expected value is checked by its place."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(item, (*path, index))
    else:
        yield path, value


def lookup(tree, path):
    for step in path:
        tree = tree[step]
    return tree


@pytest.fixture(scope="module", params=FIXTURES)
def pair(request):
    expected = json.loads((R_DIR / f"{request.param}.expected.json").read_text())
    actual = analyze(load_flat_csv(R_DIR / f"{request.param}.csv"), primary=expected["primary"])
    return request.param, expected, actual


def test_every_value_matches_r(pair):
    name, expected, actual = pair
    checked = 0
    for path, want in flatten(expected):
        got = lookup(actual, path)
        where = f"{name}: {'.'.join(map(str, path))}"
        if want is None or isinstance(want, str) or isinstance(want, bool):
            assert got == want, where
        elif path[-1] in COUNT_KEYS:
            assert got == want and isinstance(got, int), f"{where}: {got!r} != {want!r}"
        else:
            tolerance = ITERATIVE if path[:1] + path[-1:] in ITERATIVE_KEYS else CLOSED_FORM
            assert got == pytest.approx(want, **tolerance), where
        checked += 1
    assert checked > 300


def test_same_timepoints_and_completeness_rows_as_r(pair):
    _, expected, actual = pair
    assert [t["timepoint"] for t in actual["timepoints"]] == [t["timepoint"] for t in expected["timepoints"]]
    assert [c["timepoint"] for c in actual["completeness"]] == [c["timepoint"] for c in expected["completeness"]]


def test_fixtures_reach_the_code_paths_they_are_meant_to(pair):
    name, expected, _ = pair
    methods = {
        (t["timepoint"], group, block["wilcoxon_method"])
        for t in expected["timepoints"]
        for group, block in t["groups"].items()
    }
    rank_sum = {t["comparison"]["mann_whitney_method"] for t in expected["timepoints"]}
    if name == "core_small":
        assert ("post", "pathologic", "exact") in methods and ("1m", "pathologic", "normal") in methods
        assert rank_sum == {"exact", "normal"}
        assert expected["recurrence"]["median_days_pathologic"] % 1 == 0.5  # R's midpoint rule was needed
    else:
        assert ("post", "osteoporotic", "normal") in methods
        assert expected["recurrence"]["events_pathologic"] == 0 and expected["recurrence"]["hazard_ratio"] is None


def improvements(name: str, timepoint: str, group: str):
    """Baseline minus follow-up score of each patient of ``group`` with both, read straight from the CSV."""
    import pandas as pd

    rows = pd.read_csv(R_DIR / f"{name}.csv", dtype={"patient_id": str})
    baseline = rows[rows["timepoint"] == "baseline"].set_index("patient_id")["vps"]
    later = rows[(rows["timepoint"] == timepoint) & (rows["etiology"] == group)].set_index("patient_id")["vps"]
    return (baseline.reindex(later.index) - later).dropna().to_numpy()


def ties_and_zeros(d) -> tuple[int, int]:
    import numpy as np

    non_zero = d[d != 0]
    return len(non_zero) - len(np.unique(np.abs(non_zero))), int(np.sum(d == 0))


def test_fixtures_hold_the_ties_zeros_small_groups_and_gaps_their_docstring_claims():
    for group in ("osteoporotic", "pathologic"):  # exact paths: small, no ties, no zeros
        d = improvements("core_small", "post", group)
        assert len(d) < 50 and ties_and_zeros(d) == (0, 0)
        assert ties_and_zeros(improvements("core_small", "1m", group))[0] > 0
    small_zero = improvements("core_registry", "1m", "pathologic")
    assert len(small_zero) < 50 and ties_and_zeros(small_zero)[1] > 0
    assert len(improvements("core_registry", "post", "osteoporotic")) >= 50
    assert len(improvements("core_small", "3m", "osteoporotic")) < len(improvements("core_small", "1m", "osteoporotic"))
    assert len(improvements("core_registry", "12m", "osteoporotic")) < 80


def test_no_events_in_a_group_gives_null_hazard_ratio_with_a_warning():
    actual = analyze(load_flat_csv(R_DIR / "core_registry.csv"))
    assert actual["recurrence"]["hazard_ratio"] is None
    assert any("no recurrence in the pathologic group" in w for w in actual["warnings"])
    assert any("median_days_pathologic is null" in w for w in actual["warnings"])


def test_left_out_rows_are_named_in_warnings():
    actual = analyze(load_flat_csv(R_DIR / "core_small.csv"))
    assert "1 patient of etiology traumatic counted in the cohort" in " ".join(actual["warnings"])
    assert any(w.startswith("2 unscheduled assessments") for w in actual["warnings"])
    assert actual["cohort"]["other_etiology"] == 1


def test_a_frame_already_validated_is_not_validated_again(monkeypatch):
    import vertebro.stats.analysis as analysis_module

    validated = load_flat_csv(R_DIR / "core_small.csv")
    expected = analyze(validated)

    def refuse(*args, **kwargs):
        raise AssertionError("validate_flat ran a second time")

    monkeypatch.setattr(analysis_module, "validate_flat", refuse)
    assert analyze(validated, validated=True) == expected


def test_validated_true_on_raw_text_is_refused_rather_than_trusted():
    import pandas as pd

    raw = pd.read_csv(R_DIR / "core_small.csv", dtype=str, keep_default_na=False)
    with pytest.raises(ValueError, match="validated=True needs the frame validate_flat or load_flat_csv returned"):
        analyze(raw, validated=True)
    assert analyze(raw)["cohort"] == analyze(load_flat_csv(R_DIR / "core_small.csv"))["cohort"]
