"""The report's sections for a statistical reviewer (issue 12): missing data, sites, funnel plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vertebro.report.render import render_report
from vertebro.stats.analysis import analyze
from vertebro.stats.reviewer import ReviewerSettings

FIXTURE = Path(__file__).parents[1] / "stats" / "r" / "sites_registry.csv"


@pytest.fixture(scope="module")
def rows():
    return pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def html(rows):
    return render_report(rows, analyze(rows, reviewer=ReviewerSettings(imputations=5)), source="fixture")


def test_report_explains_imputation_and_the_tipping_point(html):
    section = html[html.index('id="missing-data"') : html.index('id="sites"')]
    assert "imputed 5 times by chained equations" in section
    assert "Rubin's rules" in section
    assert "points worse" in section  # a tipping point in words
    assert section.count("δ = ") == 4


def test_report_says_which_site_method_was_used_and_why(html):
    section = html[html.index('id="sites"') : html.index('id="benchmarking"')]
    assert "cluster-robust CR1" in section and "Why this one" in section
    assert "Design effect" in section


def test_report_draws_a_funnel_per_outcome_and_ranks_no_site(html):
    section = html[html.index('id="benchmarking"') : html.index('id="power"')]
    assert section.count('alt="Funnel plot of') == 4
    assert "Sites are not ranked" in section
    assert "rank" not in section.replace("Sites are not ranked: a ranking", "")


def test_one_site_shows_the_reason_instead_of_a_funnel(rows):
    one = rows.assign(site="A")
    html = render_report(one, analyze(one, reviewer=ReviewerSettings(imputations=3)), source="fixture")
    section = html[html.index('id="benchmarking"') : html.index('id="power"')]
    assert "Not computed: all patients come from one site" in section
    assert 'alt="Funnel plot' not in section


def test_core_only_analysis_leaves_the_sections_out(rows):
    html = render_report(rows, analyze(rows, reviewer=ReviewerSettings(enabled=False)), source="fixture")
    assert 'id="missing-data"' not in html and 'id="benchmarking"' not in html
