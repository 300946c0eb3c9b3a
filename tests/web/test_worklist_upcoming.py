"""Upcoming visits on the worklist: each procedure's next window that has not opened yet, with its dates."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.domain.timepoints import SCHEDULE
from vertebro.registry.selectors.worklist import worklist_items, worklist_page
from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create, procedure_create

WORKLIST = reverse("web:worklist")


def _procedure(site, study_id: str, days_ago: int):  # noqa: ANN001, ANN202
    patient = patient_create(study_id=study_id, site=site, sex="F", age_at_index=70)
    fracture = fracture_create(patient=patient, level="L1", etiology="osteoporotic")
    eligibility_record(patient=patient, assessed_on=date.today() - timedelta(days=days_ago + 1), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    return procedure_create(patient=patient, performed_on=date.today() - timedelta(days=days_ago), treated=[(fracture, 2.0)])


def _upcoming(site_id: int, procedure_id: int) -> list[str]:
    return [i.timepoint.code for i in worklist_items(site_ids=[site_id], today=date.today())
            if i.procedure_id == procedure_id and i.status == "upcoming"]


@pytest.mark.parametrize("previous, upcoming", list(zip(SCHEDULE[1:], SCHEDULE[2:])))
def test_the_next_window_is_upcoming_from_the_day_the_one_before_opens_until_the_day_before_it_opens(world, previous, upcoming):
    first = _procedure(world.site_a, "VPU0001", days_ago=previous.first_day)
    last = _procedure(world.site_a, "VPU0002", days_ago=upcoming.first_day - 1)
    opened = _procedure(world.site_a, "VPU0003", days_ago=upcoming.first_day)
    assert _upcoming(world.site_a.pk, first.pk) == [upcoming.code]
    assert _upcoming(world.site_a.pk, last.pk) == [upcoming.code]
    assert upcoming.code not in _upcoming(world.site_a.pk, opened.pk)


def test_nothing_is_upcoming_once_the_last_window_has_opened(world):
    procedure = _procedure(world.site_a, "VPU0004", days_ago=SCHEDULE[-1].first_day)
    assert _upcoming(world.site_a.pk, procedure.pk) == []


def test_upcoming_items_stay_off_the_default_list_and_its_counts(world):
    _procedure(world.site_a, "VPU0005", days_ago=0)
    page = worklist_page(site_ids=[world.site_a.pk], phi_site_ids=[world.site_a.pk], today=date.today())
    assert all(item.status != "upcoming" for item in page.items)
    assert page.total == page.counts["due"] + page.counts["overdue"] and page.counts["upcoming"] >= 1
    html = world.client("coordinator_a").get(WORKLIST).content.decode()
    assert "VPU0005" in html  # baseline and post are due
    assert "opens in" not in html


def test_coordinator_sees_a_patient_treated_today_with_the_1_week_visit_upcoming_and_its_window(world):
    _procedure(world.site_a, "VPU0006", days_ago=0)
    html = world.client("coordinator_a").get(WORKLIST, {"status": "upcoming"}).content.decode()
    row = re.search(r'<tr class="status-upcoming">.*?VPU0006.*?</tr>', html, re.S)
    assert row, "the patient treated today is not listed as upcoming"
    opens, closes = date.today() + timedelta(days=3), date.today() + timedelta(days=14)
    assert "1 week" in row.group() and str(opens) in row.group() and str(closes) in row.group()
    assert "opens in 3 days" in row.group()
    assert 'name="score"' not in row.group()  # no score before the window opens
    assert "VPB0001" not in html  # the other site's patients never show


def test_upcoming_paging_keeps_the_filter_and_the_search(world):
    for n in range(55):
        _procedure(world.site_a, f"VPU1{n:03d}", days_ago=0)
    client = world.client("coordinator_a")
    first = client.get(WORKLIST, {"status": "upcoming", "timepoint": "1w"}).content.decode()
    assert first.count('<tr class="status-upcoming">') == 50
    next_link = re.search(r'<a[^>]*href="(\?[^"]*page=2[^"]*)"', first)
    assert next_link, "no link to page 2"
    href = next_link.group(1).replace("&amp;", "&")
    assert "status=upcoming" in href and "timepoint=1w" in href and "??" not in href
    second = client.get(WORKLIST + href).content.decode()
    assert second.count('<tr class="status-upcoming">') == 5


def test_the_upcoming_count_links_to_the_filter(world):
    _procedure(world.site_a, "VPU0007", days_ago=0)
    html = world.client("coordinator_a").get(WORKLIST).content.decode()
    assert re.search(r'<a href="\?status=upcoming">\d+ upcoming</a>', html)
