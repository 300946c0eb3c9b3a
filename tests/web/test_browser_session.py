"""Session expiry in a real browser: the page warns before the idle limit, "Stay logged in" keeps the
session, and a form sent after the end is filled in again after logging back in — nothing typed lost.
The server runs with an idle limit of 15 seconds (``VERTEBRO_SESSION_IDLE_MINUTES=0.25``)."""

from __future__ import annotations

import pytest
from served_app import PASSWORD, chromium, log_in, registry_env, require_chromium, served, vertebro

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    home = tmp_path_factory.mktemp("expiry")
    env = registry_env(home, VERTEBRO_SESSION_IDLE_MINUTES="0.25")
    vertebro(env, "init")
    vertebro(env, "site", "add", "SITE-A", "Site A")
    vertebro(env, "user", "add", "coord_a", "--site", "SITE-A", "--role", "coordinator", "--password-stdin", stdin=PASSWORD + "\n")
    with served(home, env) as running:
        yield running


def test_expiry_is_announced_and_a_form_sent_after_it_is_kept_for_after_logging_in(server):
    with chromium() as browser:
        context = browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900})
        page = context.new_page()
        log_in(page, "coord_a")
        page.goto("/patients/new/")
        page.fill("#id_study_id", "BRS0001")
        page.check("input[name=sex][value=F]")
        page.fill("#id_age_at_index", "77")
        page.fill("#id_name", "Draft Kept-Name")
        warning = page.locator("#session-warning")
        warning.wait_for(state="visible", timeout=20_000)
        assert "Your session ends in less than a minute" in warning.inner_text()
        warning.locator("button:has-text('Stay logged in')").click()
        warning.wait_for(state="hidden", timeout=5_000)  # the server counted it as activity

        page.locator("#session-warning", has_text="has ended").wait_for(timeout=30_000)  # (the CSP forbids eval'd waits)
        page.click("button:has-text('Register patient')")
        page.wait_for_url("**/login/?next=/patients/new/", timeout=90_000)
        assert "What you had entered on the form is kept for you" in page.locator(".messages").inner_text()
        assert "Kept-Name" not in page.url

        page.fill("#id_username", "coord_a")
        page.fill("#id_password", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url("**/patients/new/", timeout=90_000)
        assert "Your session ended before this form was saved" in page.locator(".messages").inner_text()
        assert (page.input_value("#id_study_id"), page.input_value("#id_age_at_index"), page.input_value("#id_name")) == ("BRS0001", "77", "Draft Kept-Name")
        assert page.is_checked("input[name=sex][value=F]")
        page.click("button:has-text('Register patient')")
        page.wait_for_url("**/patients/*/")
        assert page.locator("h1").inner_text().startswith("BRS0001")
        context.close()
    assert "Kept-Name" not in server["log"].read_text()
