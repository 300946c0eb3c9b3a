"""The follow-up worklist: assessments due and overdue at the user's sites, sortable, each with a
one-click form to record the score (which takes it off the list)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ....domain.timepoints import BY_CODE, SCHEDULE
from ...selectors.worklist import (
    DEFAULT_SORT,
    LISTED_FOR_DAYS,
    OVERDUE_SHOWN_DAYS,
    SORTS,
    STATUSES,
    latest_procedure_date,
    worklist_page,
)
from ..paging import ListPage, last_page, page_number
from ..permissions import access_for
from .common import today

PAGE_SIZE = 50
COLUMNS = (("patient", "Patient"), ("site", "Site"), ("timepoint", "Timepoint"), ("opens", "Window opens"), ("closes", "Window closes"))


def _sort_headers(sort: str) -> list[dict[str, str | None]]:
    """Column headers that sort by themselves; clicking the active one reverses it."""
    headers = []
    for key, label in COLUMNS:
        active = "asc" if sort == key else "desc" if sort == f"-{key}" else None
        headers.append({"label": label, "param": f"-{key}" if active == "asc" else key, "active": active})
    return headers


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    if not access.can_edit_anywhere:
        raise PermissionDenied("The worklist is for roles that record scores.")
    site_ids = access.edit_site_ids
    site_param = request.GET.get("site", "")
    site_id = int(site_param) if site_param.isascii() and site_param.isdigit() and int(site_param) in site_ids else None
    status = request.GET.get("status") if request.GET.get("status") in STATUSES else ""
    timepoint = request.GET.get("timepoint") if request.GET.get("timepoint") in BY_CODE else ""
    sort = request.GET.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT

    def fetch(number: int):  # noqa: ANN202
        return worklist_page(
            site_ids=[site_id] if site_id else site_ids, phi_site_ids=access.phi_site_ids, today=today(), sort=sort,
            status=status, timepoint=timepoint, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
        )

    number = page_number(request.GET.get("page"))
    found = fetch(number)
    last = last_page(found.total, PAGE_SIZE)
    if number > last:  # past the end (items were recorded meanwhile): show the last page
        number, found = last, fetch(last)
    page = ListPage(found.items, number, PAGE_SIZE, found.total, more=number < last_page(found.total, PAGE_SIZE))
    return render(request, "web/worklist.html", {
        "page": page,
        "counts": found.counts,
        "site_id": site_id,
        "sites": [m for m in access.memberships if m.site_id in site_ids],
        "status": status,
        "timepoint": timepoint,
        "timepoints": SCHEDULE,
        "sort": sort,
        "sort_headers": _sort_headers(sort),
        "overdue_days": OVERDUE_SHOWN_DAYS,
        "listed_for_days": LISTED_FOR_DAYS,
        "today": today(),
        "empty": _why_empty(site_ids=[site_id] if site_id else site_ids, filtered=bool(status or timepoint)) if not found.total else None,
    })


def _why_empty(*, site_ids: list[int], filtered: bool) -> dict[str, object]:
    """Why nothing is listed, so an empty list never reads as "all done" when it is not: no procedure
    yet, every procedure too old for its windows to be open (an imported historical cohort), or the filters."""
    latest = latest_procedure_date(site_ids=site_ids)
    if latest is None:
        return {"reason": "no_procedures"}
    left_on = latest + timedelta(days=LISTED_FOR_DAYS)
    if left_on < today():
        return {"reason": "all_closed", "latest": latest, "left_on": left_on}
    return {"reason": "filtered" if filtered else "recorded"}
