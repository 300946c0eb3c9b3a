"""The flow of patients in the report: an SVG diagram and a table with the contract's counts, and the
plain-text table of the terminal."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd

from vertebro.report import render_report
from vertebro.report.flow import flow_rows, flow_svg, flow_text_table
from vertebro.stats.analysis import analyze

COLUMNS = "patient_id,site,sex,age,etiology,procedure_date,timepoint,days,vps,venue,recurrent_pain,missing_reason".split(",")
ROWS = [
    "P1,A,F,70,osteoporotic,2024-01-10,baseline,-2,8,neurointerventional_clinic,,",
    "P1,A,F,70,osteoporotic,2024-01-10,post,1,3,neurointerventional_clinic,0,",
    "P1,A,F,70,osteoporotic,2024-01-10,3m,101,2,primary_care,0,",
    "P2,A,M,64,pathologic,2024-01-20,baseline,0,9,neurointerventional_clinic,,",
    "P2,A,M,64,pathologic,2024-01-20,post,0,6,neurointerventional_clinic,0,",
    "P2,A,M,64,pathologic,2024-01-20,1m,,,,,died",
    "P3,A,F,81,pathologic,2024-01-25,baseline,-1,5,neurointerventional_clinic,,",
    "P3,A,F,81,pathologic,2024-01-25,post,1,5,neurointerventional_clinic,0,",
    "P4,A,M,40,traumatic,2024-01-12,baseline,-1,7,neurointerventional_clinic,,",
]


def analysed() -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame([row.split(",") for row in ROWS], columns=COLUMNS)
    return frame, analyze(frame)


def svg_text(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return [node.text for node in root.iter("text")]


def test_the_diagram_shows_each_stage_and_each_reason_that_applies():
    _, analysis = analysed()
    texts = svg_text(flow_svg(analysis["flow"]))
    assert "Registered: 4 patients" in texts and "Treated (index procedure): 4" in texts
    assert "Not compared: traumatic 1" in texts
    assert "Pathologic: 2 patients" in texts and "Osteoporotic: 1 patient" in texts
    assert "1 month: 0 assessed" in texts and "Died: 1" in texts and "Window missed: 1" in texts
    assert "3 months: 1 assessed" in texts


def test_the_report_carries_the_diagram_inline_and_the_table_with_the_same_counts():
    frame, analysis = analysed()
    html = render_report(frame, analysis, primary="post")
    section = html[html.index('<section id="flow"') : html.index('<section id="power"')]
    assert "<svg viewBox=" in section and "http" not in section and 'role="img"' in section
    rows = re.findall(r"<tr><td>(Pathologic[^<]*)</td><td>1 month</td>\s*<td>(\d+)</td><td>(\d+)</td>\s*<td class=\"why\">([^<]*)</td>", section)
    assert rows == [("Pathologic (n = 2)", "0", "2", "Died 1; Window missed 1")]
    assert 'href="#flow"' in html


def test_reason_only_rows_do_not_reach_the_reports_pain_tables():
    frame, analysis = analysed()
    without = frame[frame["missing_reason"] == ""]
    strip = lambda html: html[: html.index('<section id="flow"')]  # noqa: E731
    assert strip(render_report(frame, analysis, primary="post", generated_on=None)) == strip(
        render_report(without, analysis, primary="post", generated_on=None)
    )


def test_without_dates_the_text_table_says_not_known_rather_than_zero():
    columns = ["patient_id", "sex", "age", "etiology", "timepoint", "vps"]
    frame = pd.DataFrame([r.split(",") for r in ["h1,F,70,osteoporotic,baseline,8", "h2,M,60,pathologic,baseline,9", "h2,M,60,pathologic,post,3"]], columns=columns)
    flow = analyze(frame)["flow"]
    table = flow_text_table(flow)
    assert "Treated (index procedure): not known" in table
    osteo_post = next(row for row in flow_rows(flow) if row.group == "osteoporotic" and row.timepoint == "post")
    assert osteo_post.reasons == (("Not yet due", "not known"), ("Window missed", "not known"), ("Reason not known", "1"))
    assert "Post-procedure" in table and "Not yet due not known; Window missed not known; Reason not known 1" in table


def test_a_contract_without_flow_renders_a_sentence_not_a_diagram():
    frame, analysis = analysed()
    html = render_report(frame, {k: v for k, v in analysis.items() if k != "flow"}, primary="post")
    assert "No flow figures in the analysis." in html
    assert flow_text_table(None) == "Flow of patients: not in this analysis."
