"""A coordinator's day and an analyst's download, in Chromium at desktop width and on a phone.

The coordinator registers a patient treated today, finds the 1-week visit among the upcoming ones
with its window, and pages through a searched patient list; the analyst downloads a de-identified
export, which is de-identified and logged. axe-core finds no violation on the pages this adds (the
upcoming worklist and the downloads page), at either width, and neither is wider than the window.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from browser_seed import PASSWORD
from page_walk import axe_violations, own_violations, page_width
from served_app import chromium, log_in, registry_env, require_chromium, seed, served, vertebro
from test_browser_pages import DESKTOP, PHONE, _axe_js, _study_ids

pytestmark = pytest.mark.browser

DEID_KEY = "browser-day-deid-key-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    home = tmp_path_factory.mktemp("day")
    env = registry_env(home, VERTEBRO_DEID_SECRET=DEID_KEY)
    vertebro(env, "init")
    seed(env, "every_page")
    with served(home, env) as running:
        yield running | {"env": env}


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def viewport(request) -> dict:
    return request.param


def _checked(page, viewport: dict, what: str) -> None:  # noqa: ANN001
    violations = axe_violations(page, _axe_js()) + own_violations(page)
    assert not violations, f"{what} at {viewport['width']} px: {violations}"
    assert page_width(page) <= viewport["width"], f"{what} is {page_width(page)} px wide at {viewport['width']} px"


def _save(page, label: str) -> None:  # noqa: ANN001
    page.click(f"button:has-text('{label}')")
    page.wait_for_load_state()


def test_coordinator_registers_a_patient_treated_today_sees_the_upcoming_1_week_visit_and_pages_a_search(browser, server, viewport):
    today = date.today()
    study_id = f"VPD{viewport['width']:04d}"
    context = browser.new_context(base_url=server["base"], viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in(page, "coord_a", PASSWORD)

    page.click("nav >> text=New patient")
    page.fill("#id_study_id", study_id)
    page.check("input[name=sex][value=F]")
    page.fill("#id_birth_date", "1940-03-04")
    _save(page, "Register patient")
    assert page.locator("h1").inner_text().startswith(study_id)
    page.click(".actionbar >> text=Add fracture")
    page.select_option("#id_level", "L2")
    page.check("input[name=etiology][value=osteoporotic]")
    _save(page, "Save fracture")
    page.click(".actionbar >> text=Eligibility checklist")
    page.fill("#id_assessed_on", today.isoformat())
    page.check("input[name=indications][value=osteoporotic_refractory]")
    _save(page, "Save checklist")
    page.click(".actionbar >> text=Add procedure")
    page.fill("#id_performed_on", today.isoformat())
    page.locator("input[name^=treat_]").check()
    page.locator("input[name^=cement_]").fill("3.5")
    _save(page, "Save procedure")
    assert "Procedure recorded" in page.locator(".messages").inner_text()

    # The worklist: the 1-week visit is not due yet, so only the upcoming filter lists it, with its window.
    page.click("nav >> text=Worklist")
    assert page.locator("tr", has_text=study_id).filter(has_text="1 week").count() == 0
    page.select_option("#wl-status", "upcoming")
    page.click("form.filters button:has-text('Show')")
    page.wait_for_load_state()
    assert "status=upcoming" in page.url
    row = page.locator("tr", has_text=study_id)
    assert row.count() == 1, page.locator("table.worklist").inner_text()
    text = row.inner_text()
    assert "1 week" in text and "upcoming" in text and "opens in 3 days" in text
    assert (today + timedelta(days=3)).isoformat() in text and (today + timedelta(days=14)).isoformat() in text
    assert row.locator("input[name=score]").count() == 0
    _checked(page, viewport, "the upcoming worklist")

    # A searched patient list, paged forward and back: the search holds.
    page.click("nav >> text=Patients")
    page.fill("#q", "VPP")
    page.click("form.filters button:has-text('Search')")
    page.wait_for_load_state()
    first = _study_ids(page)
    assert len(first) == 50 and all(s.startswith("VPP") for s in first)
    page.click(".pager >> text=Next")
    page.wait_for_load_state()
    assert _study_ids(page) == [f"VPP{n:04d}" for n in range(51, 61)]
    page.click(".pager >> text=Previous")
    page.wait_for_load_state()
    assert _study_ids(page) == first
    context.close()


def _export_logs(server) -> list[str]:  # noqa: ANN001
    code = ("from vertebro.registry.models import ExportLog\n"
            "for log in ExportLog.objects.order_by('id'):\n"
            "    print(log.user.username, log.file_format, log.deidentified, log.rows, log.destination, sep='|')")
    return vertebro(server["env"], "manage", "shell", "-c", code).splitlines()


def test_analyst_downloads_a_deidentified_export_that_is_logged(browser, server, viewport, tmp_path):
    context = browser.new_context(base_url=server["base"], viewport=viewport, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    log_in(page, "analyst_a", PASSWORD)
    page.click("nav >> text=Downloads")
    assert page.locator("h1").inner_text() == "Report and exports"
    assert page.locator("input[name=identified]").count() == 0  # analysts: de-identified only
    _checked(page, viewport, "the downloads page")
    before = _export_logs(server)
    page.select_option("#id_file_format", "csv")
    with page.expect_download() as download_info:
        page.click("button:has-text('Download the export')")
    download = download_info.value
    assert download.suggested_filename.startswith("vertebro-SITE-A-deidentified-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    frame = pd.read_csv(path)
    assert set(frame["site"]) == {"SITE-A"} and frame["patient_id"].str.match(r"^h[0-9a-f]{20}$").all()
    assert not {"name", "mrn", "birth_date", "procedure_date", "assessed_on"} & set(frame.columns)
    assert "Ada Quimby" not in path.read_text() and "VPA0001" not in path.read_text()
    logs = _export_logs(server)
    assert len(logs) == len(before) + 1
    user, file_format, deidentified, rows, destination = logs[-1].split("|")
    assert (user, file_format, deidentified, int(rows)) == ("analyst_a", "csv", "True", len(frame))
    assert download.suggested_filename in destination and "(sites SITE-A)" in destination

    # The report: one HTML file, aggregates of SITE-A.
    with page.expect_download() as report_info:
        page.click("text=Download the report")
    report = tmp_path / report_info.value.suggested_filename
    report_info.value.save_as(report)
    html = report.read_text()
    assert report.name.startswith("vertebro-report-") and "site SITE-A" in html and "VPA0001" not in html
    assert io.StringIO(html).read(15).lower().startswith("<!doctype html")
    context.close()


def test_investigators_downloads_page_with_the_identified_choice_has_no_violation(browser, server, viewport):
    context = browser.new_context(base_url=server["base"], viewport=viewport, bypass_csp=True)
    page = context.new_page()
    log_in(page, "inv_a", PASSWORD)
    page.goto("/downloads/")
    assert page.locator("input[name=identified]").count() == 1
    _checked(page, viewport, "the investigator's downloads page")
    context.close()
