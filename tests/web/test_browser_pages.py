"""Every page, for every role, in a real browser: no accessibility violation that axe-core finds, and
no page wider than a phone (390 px) or than a desktop window (1280 px).

The pages are found by walking the links (``page_walk``); the registry (``browser_seed.every_page``)
holds a full record, a blocked checklist and enough patients for a second page of the lists.
axe-core is the one shipped inside the ``axe-playwright-python`` package (a test dependency), injected
into each page; the browser context bypasses the app's Content-Security-Policy for that script only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_seed import PASSWORD, USERS
from page_walk import axe_violations, own_violations, page_width, walk
from served_app import chromium, log_in, registry_env, require_chromium, seed, served, vertebro

pytestmark = pytest.mark.browser

ROLES = (*USERS, "superuser")
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def _axe_js() -> Path:
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).with_name("axe.min.js")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    home = tmp_path_factory.mktemp("every-page")
    # Failed logins lock the account only: the lock page is shown without locking 127.0.0.1 out.
    env = registry_env(home, VERTEBRO_LOGIN_LOCK_ADDRESS="0")
    vertebro(env, "init")
    seed(env, "every_page")
    with served(home, env) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


def _context(browser, server, viewport):  # noqa: ANN001
    return browser.new_context(base_url=server["base"], viewport=viewport, bypass_csp=True)


def _anonymous_pages(page) -> Iterator[str]:  # noqa: ANN001
    """The login page, its failure, and the lock-out page."""
    page.goto("/login/")
    yield "/login/"
    page.fill("#id_username", "nobody_here")
    page.fill("#id_password", "wrong-password")
    page.click("button:has-text('Log in')")
    yield "/login/ (errors)"
    for _ in range(10):
        if page.locator("#id_username").count() == 0:
            break
        page.fill("#id_username", "nobody_here")
        page.fill("#id_password", "wrong-password")
        page.click("button:has-text('Log in')")
    assert "Too many failed log-in attempts" in page.locator("h1").inner_text()
    yield "/login/ (locked out)"


@pytest.fixture(scope="module")
def walked(browser, server) -> dict:
    """Every page for every role, at desktop width: axe's violations, and the page's width there and
    at phone width (the same page, the window narrowed)."""
    axe_js = _axe_js()
    result = {"pages": 0, "violations": {}, "widths": {"phone": {}, "desktop": {}}, "too_wide": {}, "header_height": {}}

    def check(page, kind: str, role: str) -> None:  # noqa: ANN001
        result["pages"] += 1
        violations = axe_violations(page, axe_js) + own_violations(page)
        if violations:
            result["violations"].setdefault(role, {})[kind] = violations
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            width = page_width(page)
            widths = result["widths"][name]
            widths[kind] = max(width, widths.get(kind, 0))
            if width > viewport["width"]:
                result["too_wide"].setdefault(f"{name} {role}", {})[kind] = width
            header = page.evaluate("() => document.querySelector('header').getBoundingClientRect().height")
            result["header_height"][name] = max(header, result["header_height"].get(name, 0))
        page.set_viewport_size(DESKTOP)

    context = _context(browser, server, DESKTOP)
    page = context.new_page()
    for kind in _anonymous_pages(page):
        check(page, kind, "anonymous")
    context.close()
    for role in ROLES:
        context = _context(browser, server, DESKTOP)
        page = context.new_page()
        log_in(page, role, PASSWORD)
        walk(page, lambda p, kind, role=role: check(p, kind, role))
        context.close()
    for name in ("axe", "widths"):
        data = result["violations"] if name == "axe" else result["widths"]
        (server["home"] / f"{name}.json").write_text(json.dumps(data, indent=1))
    return result


def test_axe_finds_no_violation_on_any_page_for_any_role(walked):
    per_rule = Counter(v["id"] for pages in walked["violations"].values() for violations in pages.values() for v in violations)
    print(f"\naxe: {walked['pages']} pages walked; pages (× role) with a violation, per rule: {dict(per_rule)}")
    assert walked["pages"] > 40
    assert not walked["violations"], json.dumps(walked["violations"], indent=1)[:6000]


def test_every_page_fits_a_phone_without_scrolling_sideways_and_a_desktop_window(walked):
    phone = walked["widths"]["phone"]
    print("\nwidest pages at 390 px:", sorted(phone.items(), key=lambda kv: -kv[1])[:10], "; highest top bar (px):", walked["header_height"])
    assert len(phone) > 20
    assert walked["header_height"]["phone"] <= 120, walked["header_height"]
    assert not walked["too_wide"], json.dumps(walked["too_wide"], indent=1)


def _study_ids(page) -> list[str]:  # noqa: ANN001
    return page.locator("table.table tbody tr td:first-child a").all_inner_texts()


def test_next_page_keeps_the_search_and_shows_the_next_page(browser, server):
    context = _context(browser, server, DESKTOP)
    page = context.new_page()
    log_in(page, "coord_a", PASSWORD)
    page.goto("/patients/")
    page.fill("#q", "VPP")
    page.click("form.filters button:has-text('Search')")
    first = _study_ids(page)
    assert len(first) == 50 and all(s.startswith("VPP") for s in first)
    page.click(".pager >> text=Next")
    page.wait_for_load_state()
    second = _study_ids(page)
    assert "Page 2" in page.locator(".pager").inner_text()
    assert second == [f"VPP{n:04d}" for n in range(51, 61)], second  # the search holds on page 2
    page.click(".pager >> text=Previous")
    assert _study_ids(page) == first
    context.close()


def test_worklist_status_filter_holds_on_the_next_page_and_when_sorting(browser, server):
    context = _context(browser, server, DESKTOP)
    page = context.new_page()
    log_in(page, "coord_a", PASSWORD)
    page.goto("/worklist/")
    page.select_option("#wl-status", "overdue")
    page.click("form.filters button:has-text('Show')")
    statuses = lambda: set(page.locator("table.worklist tbody tr").evaluate_all("rows => rows.map(r => r.className)"))  # noqa: E731
    assert statuses() == {"status-overdue"}
    first = _study_ids(page)
    page.click(".pager >> text=Next")
    page.wait_for_load_state()
    assert "Page 2" in page.locator(".pager").inner_text() and statuses() == {"status-overdue"}
    assert _study_ids(page) != first
    page.click("table.worklist thead >> text=Patient")
    page.wait_for_load_state()
    assert statuses() == {"status-overdue"} and "status=overdue" in page.url and "page=" not in page.url
    ids = _study_ids(page)
    assert ids == sorted(ids) and "Page 1" in page.locator(".pager").inner_text()
    context.close()
