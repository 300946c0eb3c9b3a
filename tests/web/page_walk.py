"""Walk every page of the web app a user can reach, for the browser tests of accessibility and layout.

From the dashboard, every link inside the app is followed once per kind of page (a page's path with
its ids taken out, plus the names of its query parameters): the walk finds the pages the app has,
including ones added after this was written, without a list to keep up to date. The Django admin
(Django's own pages), logging out and static files are left out.

Each form of the app is also sent with its text and date fields emptied, so that the page of a form
with errors is walked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

#: ``/downloads/report/`` is a file download, not a page (tests/web/test_browser_day.py fetches it).
SKIPPED_PATHS = ("/admin/", "/logout/", "/static/", "/healthz", "/downloads/report/")
#: Forms that are not data-entry forms: sending them empty shows no error page (the export form
#: downloads a file, and has no text to empty).
NOT_ENTRY_FORMS = ("form[action$='/logout/']", "form.filters", "form.quick", "form.download")
MAX_PAGES = 80


def page_kind(url: str) -> str:
    """``/patients/12/edit/?page=2`` -> ``/patients/N/edit/?page``."""
    parts = urlsplit(url)
    keys = sorted({key.lstrip("?") for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"/\d+(?=/|$)", "/N", parts.path) + ("?" + "&".join(keys) if keys else "")


def _links(page) -> list[str]:  # noqa: ANN001
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    base = urlsplit(page.url)
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc != base.netloc or parts.path.startswith(SKIPPED_PATHS):
            continue
        found.append(parts._replace(fragment="").geturl())
    return found


def walk(page, visit: Callable[[object, str], None], *, start: str = "/") -> list[str]:  # noqa: ANN001
    """Open every kind of page reachable from ``start`` and call ``visit(page, kind)`` on each, then on
    each data-entry form sent with its text emptied (kind suffixed with `` (errors)``).
    Returns the kinds visited."""
    page.goto(start)
    queue, seen = [page.url], set()
    visited = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0)
        kind = page_kind(url)
        if kind in seen:
            continue
        seen.add(kind)
        response = page.goto(url)
        assert response is not None and response.status < 500, f"{url} answered {response and response.status}"
        visit(page, kind)
        visited.append(kind)
        queue += [link for link in _links(page) if page_kind(link) not in seen]
        for form_index in _entry_forms(page):
            page.goto(url)
            _send_emptied(page, form_index)
            visit(page, kind + " (errors)")
            visited.append(kind + " (errors)")
    return visited


def _entry_forms(page) -> Iterator[int]:  # noqa: ANN001
    forms = page.locator("main form[method=post]")
    for index in range(forms.count()):
        form = forms.nth(index)
        if not any(form.evaluate(f"f => f.matches({selector!r})") for selector in NOT_ENTRY_FORMS):
            yield index


def _send_emptied(page, index: int) -> None:  # noqa: ANN001
    form = page.locator("main form[method=post]").nth(index)
    for field in form.locator("input[type=text], input[type=date], input[type=password], input:not([type]), textarea").all():
        if field.is_visible() and field.is_editable():
            field.fill("")
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()


def axe_violations(page, axe_js: Path) -> list[dict]:  # noqa: ANN001
    """axe-core's violations on the page (every rule axe runs by default), as ``{id, impact, nodes}``."""
    page.add_script_tag(path=str(axe_js))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in result]


def page_width(page) -> int:  # noqa: ANN001
    """How wide the page's content is (px): more than the window means scrolling sideways."""
    return int(page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"))


#: What axe-core does not check, checked here: a group of radio buttons or checkboxes sits in a
#: fieldset with a legend; every id an ``aria-describedby`` or ``aria-labelledby`` names exists; after a
#: form is sent with errors, the keyboard focus is on the error summary; no sentence ends in two full stops.
_OWN_CHECKS = """() => {
  const problems = [];
  const groups = new Map();
  for (const input of document.querySelectorAll('main input[type=radio], main input[type=checkbox]')) {
    if (!groups.has(input.name)) groups.set(input.name, []);
    groups.get(input.name).push(input);
  }
  for (const [name, inputs] of groups) {
    if (inputs[0].type === 'checkbox' && inputs.length < 2) continue;
    const fieldset = inputs[0].closest('fieldset');
    if (!fieldset || !fieldset.querySelector(':scope > legend') || !inputs.every(i => fieldset.contains(i)))
      problems.push({id: 'group-in-fieldset', nodes: [[name]]});
  }
  for (const element of document.querySelectorAll('[aria-describedby], [aria-labelledby]')) {
    for (const attribute of ['aria-describedby', 'aria-labelledby']) {
      for (const id of (element.getAttribute(attribute) || '').split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) problems.push({id: attribute + '-exists', nodes: [[(element.id || element.name || element.tagName) + ' -> ' + id]]});
      }
    }
  }
  const stops = (document.querySelector('main').innerText.match(/[^.\s][.][\s\u201d"\u2019)]*[.](?![.])/g) || []);
  if (stops.length) problems.push({id: 'doubled-full-stop', nodes: stops.map(s => [s])});
  const summary = document.querySelector('.form-errors');
  if (summary && document.activeElement !== summary) problems.push({id: 'error-summary-focused', nodes: [[document.activeElement ? document.activeElement.tagName + '#' + document.activeElement.id : 'nothing']]});
  return problems;
}"""


def own_violations(page) -> list[dict]:  # noqa: ANN001
    return [{"impact": "serious", **problem} for problem in page.evaluate(_OWN_CHECKS)]
