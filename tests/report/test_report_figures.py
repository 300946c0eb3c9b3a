"""Figures: SVG data URIs, nothing drawn from nothing, day ticks that read naturally."""

from __future__ import annotations

import base64

import pandas as pd

from vertebro.report import figures, summaries

SVG_PREFIX = "data:image/svg+xml;base64,"


def _svg(uri: str) -> str:
    assert uri.startswith(SVG_PREFIX)
    return base64.b64decode(uri[len(SVG_PREFIX):]).decode("utf-8")


def test_every_figure_is_an_svg_document_of_the_data(flat_df):
    times = summaries.recurrence_times(flat_df)
    uris = [
        figures.pain_trajectory(summaries.pain_by_timepoint(flat_df)),
        figures.improvement_distribution(summaries.improvement_at(flat_df, "post"), "just after the procedure"),
        figures.kaplan_meier(times),
        figures.forest([figures.ForestRow("Post-procedure", "raw", 1.0, 0.2, 1.8, emphasis=True)]),
    ]
    for uri in uris:
        svg = _svg(uri)
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "http://www.w3.org/2000/svg" in svg


def test_nothing_to_draw_gives_no_figure():
    empty_pain = pd.DataFrame(columns=["timepoint", "group", "n", "mean", "sd", "ci_low", "ci_high"])
    empty_improvement = pd.DataFrame(columns=["patient_id", "group", "baseline", "followup", "improvement"])
    assert figures.pain_trajectory(empty_pain) is None
    assert figures.improvement_distribution(empty_improvement, "at 1 month") is None
    assert figures.kaplan_meier(None) is None
    assert figures.forest([figures.ForestRow("All follow-ups (mixed model)", "mixed", None, None, None)]) is None


def test_forest_marks_an_unestimable_difference_beside_the_others():
    rows = [figures.ForestRow("1 month", "raw", 0.5, -0.1, 1.1), figures.ForestRow("1 month", "ancova", None, None, None)]
    svg = _svg(figures.forest(rows))  # matplotlib keeps each text as a comment beside its glyph paths
    assert "ANCOVA: not estimable" in svg and "1 month" in svg


def test_survival_ticks_step_by_natural_day_counts():
    def ticks(horizon):
        return figures.survival_ticks(pd.DataFrame({"days": [0, horizon]}))

    assert ticks(365) == [0, 60, 120, 180, 240, 300, 360]
    assert ticks(430) == [0, 90, 180, 270, 360]
    assert ticks(2) == [0, 1, 2]
    assert figures.survival_ticks(None) == []
