"""The web app in a real browser: Debian's Chromium driven by Playwright, against `vertebro serve`.

The registry is made with `vertebro init`, `vertebro site add` and `vertebro user add` and served by
``served_app`` (which says why it is a real server, and how a missing Chromium is announced).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from served_app import log_in as _log_in
from served_app import PASSWORD, registry_env, require_chromium, served, vertebro

NAME, MRN = "Winifred Browser", "MRN-BRW-31337"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`vertebro serve` on a fresh file registry with two sites and a coordinator at each."""
    require_chromium()
    home = tmp_path_factory.mktemp("served")
    env = registry_env(home)
    vertebro(env, "init")
    vertebro(env, "site", "add", "SITE-A", "Site A")
    vertebro(env, "site", "add", "SITE-B", "Site B")
    for username, site in (("coord_a", "SITE-A"), ("coord_b", "SITE-B")):
        vertebro(env, "user", "add", username, "--site", site, "--role", "coordinator", "--password-stdin", stdin=PASSWORD + "\n")
    with served(home, env) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    from served_app import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _save(page, label: str) -> None:
    page.click(f"button:has-text('{label}')")
    page.wait_for_load_state()


def test_register_treat_score_and_follow_up_from_the_worklist(page, server):
    yesterday = date.today() - timedelta(days=1)
    _log_in(page, "coord_a")

    # A new patient.
    page.click("nav >> text=New patient")
    page.fill("#id_study_id", "BRW0001")
    page.check("input[name=sex][value=F]")
    page.fill("#id_birth_date", "1944-05-06")
    page.fill("#id_mrn", MRN)
    page.fill("#id_name", NAME)
    _save(page, "Register patient")
    assert page.locator("h1").inner_text().startswith("BRW0001")
    patient_url = page.url.split("#")[0]
    assert re.search(r"/patients/\d+/$", patient_url) and NAME not in patient_url

    # The fracture, the eligibility checklist, then the procedure (yesterday, L1 with 4.5 ml).
    page.click(".actionbar >> text=Add fracture")
    page.select_option("#id_level", "L1")
    page.check("input[name=etiology][value=osteoporotic]")
    _save(page, "Save fracture")
    page.click(".actionbar >> text=Eligibility checklist")
    page.fill("#id_assessed_on", yesterday.isoformat())
    page.check("input[name=indications][value=osteoporotic_refractory]")
    _save(page, "Save checklist")
    page.click(".actionbar >> text=Add procedure")
    page.fill("#id_performed_on", yesterday.isoformat())
    page.locator("input[name^=treat_]").check()
    page.locator("input[name^=cement_]").fill("4.5")
    page.select_option("#id_comp-0-kind", "cement_leak")
    _save(page, "Save procedure")
    # A cement leak without its route: the error sits beside the route, nothing typed is lost.
    assert "Say where the cement leaked" in page.locator("td.has-error").inner_text()
    assert page.locator("input[name^=cement_]").input_value() == "4.5"
    page.select_option("#id_comp-0-leak_route", "disc")
    _save(page, "Save procedure")
    assert "Procedure recorded" in page.locator(".messages").inner_text()

    # The baseline score, taken on the procedure day before it: the form asks before/after.
    page.click(".procedure >> text=Record pain score")
    page.fill("#id_assessed_on", yesterday.isoformat())
    page.fill("#id_score", "8")
    _save(page, "Save score")
    assert "say whether it was taken before or after" in page.locator("#field-procedure_day").inner_text()
    assert page.locator("#id_score").input_value() == "8"
    page.check("input[name=procedure_day][value=before]")
    _save(page, "Save score")
    assert "Baseline pain score 8 recorded for BRW0001" in page.locator(".messages").inner_text()

    # The post-procedure score is due: record it from the worklist in one go.
    page.click("nav >> text=Worklist")
    row = page.locator("tr", has_text="BRW0001").filter(has_text="Post-procedure")
    assert row.count() == 1 and "due" in row.inner_text()
    row.locator("input[name=score]").fill("3")
    row.locator("button:has-text('Record')").click()
    page.wait_for_url("**/worklist/**")
    assert "Post-procedure pain score 3 recorded for BRW0001" in page.locator(".messages").inner_text()
    assert page.locator("tr", has_text="BRW0001").filter(has_text="Post-procedure").count() == 0
    page.screenshot(path=str(server["home"] / "worklist.png"), full_page=True)

    # The patient's chart and table show both scores; the history shows who entered them.
    page.goto(patient_url)
    assert page.locator(".panel:has-text('Pain scores') svg circle").count() == 2
    table = page.locator("#pain-table").inner_text()
    assert "Baseline" in table and "Post-procedure" in table and re.search(r"\b3\b", table)
    page.screenshot(path=str(server["home"] / "patient.png"), full_page=True)
    page.click(".actionbar >> text=History")
    history = page.locator("table.history").inner_text()
    assert "coord_a" in history and "Pain score" in history and "Post-procedure" in history and "Cement leakage" in history

    # Names and MRNs never reached a URL or the server log.
    log = server["log"].read_text()
    assert "GET /worklist/" in log and NAME not in log and MRN not in log and "Winifred" not in log


def test_coordinator_cannot_open_another_sites_patient(page, browser, server):
    _log_in(page, "coord_b")
    page.click("nav >> text=New patient")
    page.fill("#id_study_id", "BRW0900")
    page.check("input[name=sex][value=M]")
    page.fill("#id_age_at_index", "71")
    page.fill("#id_name", "Other Site Person")
    _save(page, "Register patient")
    other_site_url = page.url.split("#")[0]

    other = browser.new_context(base_url=server["base"])
    try:
        page_a = other.new_page()
        _log_in(page_a, "coord_a")
        response = page_a.goto(other_site_url)
        assert response.status == 404
        body = page_a.locator("main").inner_text()
        assert "Not found" in body and "Other Site Person" not in body and "BRW0900" not in body
        page_a.goto("/patients/")
        assert "BRW0900" not in page_a.locator("main").inner_text()
    finally:
        other.close()


def test_the_admin_works_under_its_content_security_policy(page, server):
    """The admin's own scripts run (the permissions widget is built by JavaScript), and the browser
    reports no blocked script, style or resource."""
    env = registry_env(server["home"])
    vertebro(env, "user", "add", "root_admin", "--superuser", "--password-stdin", stdin=PASSWORD + "\n")
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto("/admin/login/")
    page.fill("#id_username", "root_admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.click("text=Users")
    page.click("text=coord_a")
    page.wait_for_selector("#id_user_permissions_from")  # SelectFilter2.js ran
    page.goto("/admin/registry/importbatch/")
    page.goto("/admin/registry/site/")
    assert "SITE-A" in page.locator("#result_list").inner_text()
    assert not blocked, blocked
