"""The report on the real `analyze` output, including the degenerate inputs the contract allows."""

from __future__ import annotations

import re

import pytest

from vertebro.report import formatting as fmt
from vertebro.report import render_report
from vertebro.stats.analysis import analyze

LEAKS = ("None", "nan", "NaN", "inf")


def visible(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def assert_no_leaked_nulls(html: str) -> None:
    text = visible(html)
    for leaked in LEAKS:
        assert not re.search(rf"\b{leaked}\b", text), leaked


@pytest.fixture(scope="module")
def analysis(flat_df):
    return analyze(flat_df, primary="post")


def test_power_paragraph_and_headline_state_the_analysis_numbers(flat_df, analysis):
    html = render_report(flat_df, analysis)
    power = analysis["power"]
    post = next(tp for tp in analysis["timepoints"] if tp["timepoint"] == "post")
    paragraph = re.search(r'<p class="power">(.*?)</p>', html, re.S).group(1)
    assert f"With {post['groups']['pathologic']['n']} pathologic" in paragraph
    assert f"is {fmt.number(power['minimal_detectable_difference'])} points" in paragraph
    assert f"The observed difference is {fmt.number(post['comparison']['difference'])} points" in paragraph
    assert "power to detect" not in paragraph  # observed power is not reported (it restates the p-value)
    assert f"{fmt.integer(power['per_group_needed_equal'])} patients per group" in paragraph
    assert fmt.interval(post["comparison"]["ci_low"], post["comparison"]["ci_high"]) in visible(html)
    for warning in analysis["warnings"]:
        assert warning.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html
    assert_no_leaked_nulls(html)


def test_no_pathologic_patients_renders_nulls_and_warnings(make_flat):
    df = make_flat(n_pathologic=0)
    analysis = analyze(df)
    html = render_report(df, analysis)
    assert analysis["warnings"]
    assert fmt.MISSING in visible(html)
    assert "Pathologic (n = 0)" in visible(html)
    assert "in pathologic fractures the improvement could not be estimated (no patient with both scores)" in visible(html)
    assert_no_leaked_nulls(html)


def test_no_baseline_rows_renders_without_crashing(flat_df):
    df = flat_df[flat_df["timepoint"] != "baseline"]
    analysis = analyze(df)
    html = render_report(df, analysis)
    assert "no baseline score" in visible(html)
    assert "No patient has both a baseline score and a score just after the procedure" in visible(html)
    assert_no_leaked_nulls(html)


def test_deidentified_csv_without_days_renders_recurrence_as_unavailable(flat_df):
    df = flat_df[["patient_id", "sex", "age", "etiology", "timepoint", "vps"]]
    analysis = analyze(df, primary="1m")
    html = render_report(df, analysis)
    assert analysis["recurrence"] is None
    assert "Not available: the input has no days or recurrent_pain column." in visible(html)
    assert_no_leaked_nulls(html)


def test_a_timepoint_nobody_reached_as_primary(flat_df):
    df = flat_df[flat_df["timepoint"] != "12m"]
    analysis = analyze(df, primary="12m")
    html = render_report(df, analysis)
    assert "No patient has both a baseline score and a score at 12 months" in visible(html)
    assert_no_leaked_nulls(html)


def test_rank_test_p_values_say_whether_they_are_exact_or_approximate():
    from pathlib import Path

    from vertebro.stats.validate import load_flat_csv

    df = load_flat_csv(Path(__file__).parents[1] / "stats" / "r" / "core_small.csv")  # both paths occur
    analysis = analyze(df, validated=True)
    html = render_report(df, analysis)
    tests = [(g["wilcoxon_p"], g["wilcoxon_method"]) for tp in analysis["timepoints"] for g in tp["groups"].values()]
    tests += [(tp["comparison"]["mann_whitney_p"], tp["comparison"]["mann_whitney_method"]) for tp in analysis["timepoints"]]
    for method, mark in (("exact", '<sup class="method" title="exact p-value">e</sup>'),
                         ("normal", '<sup class="method" title="normal approximation">a</sup>')):  # fmt: skip
        expected = sum(1 for p, how in tests if p is not None and how == method)
        assert expected > 0 and html.count(mark) == expected, method
    row = re.search(r"<td>Post-procedure</td>(.*?)</tr>", html.split('id="improvement"')[1], re.S).group(1)
    post = analysis["timepoints"][0]["groups"]["pathologic"]
    assert post["wilcoxon_method"] == "exact"
    shown = fmt.p_value(post["wilcoxon_p"]).replace("<", "&lt;")
    assert f'<td>{shown}<sup class="method" title="exact p-value">e</sup></td>' in row
    assert "Wilcoxon signed-rank p: " in visible(html) and "Mann–Whitney p: " in visible(html)


def test_no_mark_and_no_footnote_when_the_analysis_does_not_say_how(flat_df, contract_template):
    html = render_report(flat_df, contract_template)
    assert 'class="method"' not in html and "Mann–Whitney p: " not in visible(html)


def test_mixed_model_interval_is_the_analysis_own_wald_interval(flat_df, analysis):
    from vertebro.report.render import _forest_rows

    mixed = analysis["mixed_model"]
    row = _forest_rows(analysis, "post")[-1]
    assert (row.estimate, row.ci_low, row.ci_high) == (
        mixed["etiology_difference"], mixed["etiology_ci_low"], mixed["etiology_ci_high"]
    )
    shown = fmt.interval(mixed["etiology_ci_low"], mixed["etiology_ci_high"])
    assert f"adjusted difference {fmt.number(mixed['etiology_difference'])} points (95% CI {shown}" in visible(
        render_report(flat_df, analysis)
    )


@pytest.mark.parametrize(
    ("osteo", "patho", "expected"),
    [
        (4.2, 3.6, "The mean improvement exceeds the 2 points IMMPACT counts as a moderately important change for a patient in both groups."),
        (2.5, 1.1, "The mean improvement reaches the 2 points IMMPACT counts as a moderately important change for a patient only in the osteoporotic group."),
        (0.5, 1.0, "In no group does the mean improvement reach the 2 points IMMPACT counts as a moderately important change for a patient."),
    ],
)
def test_the_headline_weighs_each_groups_improvement_against_a_change_patients_notice(osteo, patho, expected):
    from vertebro.report.text import clinical_meaning

    assert clinical_meaning({"improvement_mean": osteo}, {"improvement_mean": patho}) == expected


def test_the_headline_warns_when_few_patients_due_at_the_primary_timepoint_were_seen():
    from vertebro.report.text import capture_caveat

    analysis = {"completeness": [{"timepoint": "12m", "groups": {
        "osteoporotic": {"expected": 100, "observed": 85, "missing": 15},
        "pathologic": {"expected": 28, "observed": 7, "missing": 21},
    }}]}
    assert capture_caveat(analysis, "12m") == "Caution: at 12 months only 7 of 28 pathologic patients due were seen (below the 80% registries aim for)."
    assert capture_caveat(analysis, "post") == ""


def test_a_notice_stands_above_the_report(flat_df, analysis):
    html = render_report(flat_df, analysis, notice="Synthetic data. Not evidence.")
    assert html.index('<p class="notice" role="note"><strong>Synthetic data. Not evidence.</strong></p>') < html.index('<section id="summary">')
