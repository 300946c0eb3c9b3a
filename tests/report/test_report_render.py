"""The HTML report: self-contained, every section present, numbers from the analysis, nulls in words."""

from __future__ import annotations

import base64
import copy
import re
from html.parser import HTMLParser

import pytest

from vertebro.report import render_report
from vertebro.report.formatting import MISSING

SECTION_IDS = ("summary", "table1", "pain", "improvement", "responders", "differences", "instruments", "recurrence",
               "completeness", "flow", "power", "methods", "warnings")
SVG_PREFIX = "data:image/svg+xml;base64,"


class _Collector(HTMLParser):
    """Every tag with its attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", " ".join(parse(html).text))


@pytest.fixture(scope="module")
def html(flat_df, contract_template) -> str:
    return render_report(flat_df, contract_template, primary="post")


def test_report_is_self_contained(html):
    doc = parse(html)
    assert "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(" not in html
    for tag, attrs in doc.tags:
        assert tag not in ("link", "script", "iframe", "object", "embed"), tag
        if "src" in attrs:
            assert attrs["src"].startswith("data:"), attrs["src"][:60]
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs["href"]


def test_figures_are_embedded_svg_documents(html):
    sources = [attrs["src"] for tag, attrs in parse(html).tags if tag == "img"]
    assert len(sources) == 4  # pain, improvement, Kaplan–Meier, forest
    for source in sources:
        assert source.startswith(SVG_PREFIX)
        svg = base64.b64decode(source[len(SVG_PREFIX):]).decode("utf-8")
        assert "<svg" in svg and "</svg>" in svg
    assert all(attrs.get("alt") for tag, attrs in parse(html).tags if tag == "img")


def test_every_required_section_has_its_id_and_heading(html):
    doc = parse(html)
    ids = [attrs.get("id") for tag, attrs in doc.tags if tag == "section"]
    assert ids == list(SECTION_IDS)
    headings = [m.group(1) for m in re.finditer(r"<h2>([^<]+)</h2>", html)]
    for heading in ("Table 1: patients by etiology", "Pain by timepoint", "Improvement", "Responders",
                    "Between-group differences", "Recurrent pain", "Follow-up completeness", "Power",
                    "Methods", "Warnings"):
        assert heading in headings


def test_prints_well(html):
    assert "@media print" in html and "break-inside: avoid" in html


def test_power_paragraph_states_the_numbers_of_the_analysis(html):
    power = re.search(r'<p class="power">(.*?)</p>', html, re.S).group(1)
    assert "With 19 pathologic and 88 osteoporotic patients" in power
    assert "pooled SD of improvement 1.84 points" in power
    assert "the smallest difference detectable with 80% power (two-sided α = 0.05) is 1.31 points" in power
    assert "The observed difference is 1.01 points" in power
    assert "power to detect" not in power and "49%" not in power  # observed power restates the p-value
    assert "55 patients per group would be needed" in power


def test_methods_name_every_test(html):
    methods = visible_text(html).split("Methods", 2)[-1]
    for name in ("Welch", "paired t test", "Wilcoxon signed-rank", "Mann–Whitney", "ANCOVA", "ordinary least squares",
                 "Newcombe", "Fisher exact", "REML", "random intercept", "Kaplan–Meier", "log-rank",
                 "Cox", "Efron", "1.96·SE", "Austin 2009"):
        assert name in methods, name


def test_contract_numbers_are_displayed_rounded(html):
    text = visible_text(html)
    assert "4.22 (3.83 to 4.61)" in text  # osteoporotic improvement at post
    assert "1.01 (0.04 to 1.98)" in text  # raw difference
    assert "15.3 (−4.6 to 33.1)" in text  # Newcombe interval in percentage points
    assert "0.99 points (95% CI 0.31 to 1.66" in text  # mixed model 0.9876 ± 1.96 × 0.3456
    assert "Hazard ratio (95% CI), pathologic versus osteoporotic (Cox, Efron ties): 2.35 (1.07 to 5.14)" in text
    assert "4.2211" not in text  # never the unrounded value


def test_median_not_reached_is_said_in_words(html):
    rows = re.search(r"Time to recurrent back pain.*?</table>", html, re.S).group(0)
    assert "not reached" in rows and ">180<" in rows


def test_warnings_are_shown_and_escaped(html):
    assert "1m: &lt;b&gt;two&lt;/b&gt; patients lack a baseline score &amp; were left out" in html
    assert "<b>two</b>" not in html


def test_table1_shows_the_groups_of_the_flat_rows(html, flat_df):
    text = visible_text(html)
    assert "Osteoporotic (n = 90)" in text and "Pathologic (n = 20)" in text and "Both groups (n = 110)" in text
    assert "Cement volume, mL, mean (SD)" in text and "Levels treated, n (%)" in text


def _null_analysis(analysis: dict) -> dict:
    """The contract as `analyze` returns it when the pathologic group is empty."""
    null = copy.deepcopy(analysis)
    null["cohort"].update(pathologic=0, patients=93)
    for entry in null["timepoints"]:
        entry["groups"]["pathologic"] = {key: None for key in entry["groups"]["pathologic"]} | {"n": 0, "evaluable": 0}
        entry["comparison"] = {key: None for key in entry["comparison"]}
    null["mixed_model"].update(etiology_difference=None, etiology_se=None)
    null["recurrence"] = {key: None for key in null["recurrence"]} | {"events_osteoporotic": 21, "events_pathologic": 0}
    null["power"] = {key: None for key in null["power"]}
    null["warnings"] = ["post: the pathologic group is empty, so the groups cannot be compared"]
    return null


def test_empty_group_renders_dashes_and_the_warning_without_crashing(contract_analysis, make_flat):
    df = make_flat(n_pathologic=0)
    html = render_report(df, _null_analysis(contract_analysis), primary="post")
    text = visible_text(html)
    assert "the pathologic group is empty" in text
    assert MISSING in text
    assert "cannot be computed" in text  # power paragraph
    assert "The observed difference is not available." in text
    for leaked in ("None", "nan", "NaN", "inf"):
        assert not re.search(rf"\b{leaked}\b", text), leaked
    recurrence = re.search(r"Time to recurrent back pain.*?</table>", html, re.S).group(0)
    assert "not reached" in recurrence  # osteoporotic: events but no median


def test_missing_sections_and_columns_render_as_unavailable(contract_analysis, flat_df):
    df = flat_df.drop(columns=["days", "recurrent_pain", "levels", "cement_ml"])
    analysis = contract_analysis | {"timepoints": [], "completeness": [], "recurrence": {},
                                    "warnings": ["recurrence: the input has no days column"]}
    html = render_report(df, analysis, primary="3m")
    text = visible_text(html)
    assert "No patient has both a baseline score and a score at 3 months" in text
    assert "Not available: the input has no days or recurrent_pain column." in text
    assert "No completeness figures in the analysis." in text
    assert "Levels treated" not in text


def test_same_inputs_give_the_same_document(flat_df, contract_analysis):
    from datetime import date

    first = render_report(flat_df, contract_analysis, generated_on=date(2024, 1, 2))
    second = render_report(flat_df, contract_analysis, generated_on=date(2024, 1, 2))
    assert first == second
