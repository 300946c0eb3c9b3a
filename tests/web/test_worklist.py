"""The worklist: due when a window opens, overdue when it closes, gone when the score is in."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.selectors.worklist import OVERDUE_SHOWN_DAYS, worklist_items
from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create, procedure_create

WORKLIST = reverse("web:worklist")


def _procedure(site, study_id: str, days_ago: int):
    patient = patient_create(study_id=study_id, site=site, sex="F", age_at_index=70, name=f"Name {study_id}")
    fracture = fracture_create(patient=patient, level="L1", etiology="osteoporotic")
    eligibility_record(patient=patient, assessed_on=date.today() - timedelta(days=days_ago + 1), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    return procedure_create(patient=patient, performed_on=date.today() - timedelta(days=days_ago), treated=[(fracture, 2.0)])


def _rows(html: str) -> list[tuple[str, str]]:
    """(study id, timepoint label) of each worklist row, in page order."""
    return re.findall(r'<tr class="status-\w+">\s*<td><a href="[^"]+">(\w+)</a>.*?</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]+)</td>', html, re.S)


def test_items_open_when_the_window_opens_and_turn_overdue_when_it_closes(world):
    procedure = _procedure(world.site_a, "VPW0001", days_ago=100)
    items = {i.timepoint.code: i for i in worklist_items(site_ids=[world.site_a.pk], today=date.today()) if i.procedure_id == procedure.pk}
    # baseline (closed day 0) and post (day 2) closed more than 90 days ago: off the list; 6m opens on day 136.
    assert set(items) == {"1w", "1m", "3m", "6m"}
    assert items["1w"].status == items["1m"].status == "overdue" and items["3m"].status == "due"
    assert items["6m"].status == "upcoming" and items["6m"].days_to_open == 136 - 100
    assert items["3m"].days_left == 135 - 100 and items["1m"].days_left == 60 - 100
    assert items["3m"].default_assessed_on == date.today() and items["1m"].default_assessed_on is None


def test_overdue_items_leave_after_the_grace_period(world):
    procedure = _procedure(world.site_a, "VPW0002", days_ago=14 + OVERDUE_SHOWN_DAYS + 1)
    codes = {i.timepoint.code for i in worklist_items(site_ids=[world.site_a.pk], today=date.today()) if i.procedure_id == procedure.pk}
    assert "1w" not in codes and "1m" in codes


def test_procedure_today_has_baseline_and_post_due_and_the_1_week_visit_upcoming(world):
    procedure = _procedure(world.site_a, "VPW0003", days_ago=0)
    statuses = {i.timepoint.code: i.status for i in worklist_items(site_ids=[world.site_a.pk], today=date.today()) if i.procedure_id == procedure.pk}
    assert statuses == {"baseline": "due", "post": "due", "1w": "upcoming"}


def test_coordinator_sees_only_their_site(world):
    html = world.client("coordinator_a").get(WORKLIST).content.decode()
    assert ("VPA0001", "1 month") in _rows(html)
    assert "VPB0001" not in html


def test_names_show_only_where_the_role_allows(world):
    html = world.client("coordinator_a").get(WORKLIST).content.decode()
    assert world.phi_a[0] in html


def test_recording_the_score_from_the_worklist_takes_it_off(world):
    client = world.client("coordinator_a")
    next_url = WORKLIST + "?sort=patient"
    response = client.post(reverse("web:pain_new", kwargs={"procedure_pk": world.procedure_a.pk}), {
        "timepoint": "1m", "instrument": "vps", "assessed_on": date.today().isoformat(), "score": "2", "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url
    page = client.get(response["Location"]).content.decode()
    assert ("VPA0001", "1 month") not in _rows(page)
    assert "1 month pain score 2 recorded for VPA0001" in page
    assert world.procedure_a.pain_assessments.get(timepoint="1m").score == 2


def test_one_click_error_opens_the_full_form_with_everything_kept(world):
    client = world.client("coordinator_a")
    response = client.post(reverse("web:pain_new", kwargs={"procedure_pk": world.procedure_a.pk}), {
        "timepoint": "1m", "instrument": "vps", "assessed_on": date.today().isoformat(), "score": "12", "next": WORKLIST})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter the pain score as a number from 0 to 10." in html
    assert 'value="12"' in html and f'name="next" value="{WORKLIST}"' in html and 'name="timepoint" value="1m"' in html


def test_offsite_next_is_ignored(world):
    response = world.client("coordinator_a").post(reverse("web:pain_new", kwargs={"procedure_pk": world.procedure_a.pk}), {
        "timepoint": "1m", "instrument": "vps", "assessed_on": date.today().isoformat(), "score": "2", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:patient", kwargs={"pk": world.patient_a.pk}))


@pytest.mark.parametrize("sort,reverse_order", [("patient", False), ("-patient", True)])
def test_sorting_by_patient(world, sort, reverse_order):
    for i in (3, 1, 2):
        _procedure(world.site_a, f"VPS000{i}", days_ago=30)
    html = world.client("coordinator_a").get(f"{WORKLIST}?sort={sort}&timepoint=1m").content.decode()
    ids = [sid for sid, _ in _rows(html) if sid.startswith("VPS")]
    assert ids == sorted(ids, reverse=reverse_order) and len(ids) == 3


def test_sorting_by_closing_date_puts_overdue_first(world):
    _procedure(world.site_a, "VPC0001", days_ago=100)
    rows = world.client("coordinator_a").get(f"{WORKLIST}?sort=closes").context["page"].object_list
    closes = [item.closes_on for item in rows]
    assert closes == sorted(closes) and rows[0].status == "overdue"


def test_filters_by_status_and_timepoint(world):
    _procedure(world.site_a, "VPF0001", days_ago=100)
    client = world.client("coordinator_a")
    overdue = client.get(f"{WORKLIST}?status=overdue").context["page"].object_list
    assert overdue and all(item.status == "overdue" for item in overdue)
    three_months = client.get(f"{WORKLIST}?timepoint=3m").context["page"].object_list
    assert [item.study_id for item in three_months] == ["VPF0001"]


def test_worklist_query_count_does_not_grow(world, django_assert_max_num_queries):
    for i in range(40):
        _procedure(world.site_a, f"VPN{i:04d}", days_ago=i * 9)
    client = world.client("coordinator_a")
    client.get(WORKLIST)
    # session, user, memberships, the worklist statement, the page's open invitations (one, any page size)
    with django_assert_max_num_queries(5):
        assert client.get(WORKLIST).status_code == 200


def test_two_sites_merge_in_one_order(world):
    for site, prefix in ((world.site_a, "VPM1"), (world.site_b, "VPM2"), (world.site_a, "VPM3")):
        _procedure(site, f"{prefix}000", days_ago=30)
    rows = world.client("superuser").get(f"{WORKLIST}?sort=-patient&timepoint=1m").context["page"].object_list
    ids = [item.study_id for item in rows]
    assert ids == sorted(ids, reverse=True) and {"VPM1000", "VPM2000", "VPM3000", "VPA0001", "VPB0001"} <= set(ids)


def test_kept_names_are_shown_only_to_readers_allowed_to_see_them(world):
    from vertebro.registry.selectors.worklist import worklist_page

    shown = worklist_page(site_ids=[world.site_a.pk], phi_site_ids=[world.site_a.pk], today=date.today())
    hidden = worklist_page(site_ids=[world.site_a.pk], phi_site_ids=[], today=date.today())
    assert {item.name for item in shown.items} == {world.phi_a[0]}
    assert {item.name for item in hidden.items} == {None} and len(hidden.items) == len(shown.items)


def test_a_page_past_the_end_shows_the_last_page(world):
    page = world.client("coordinator_a").get(f"{WORKLIST}?page=99").context["page"]
    assert page.number == 1 and [item.study_id for item in page.object_list] == ["VPA0001"]


@pytest.fixture
def lone_site(db, django_user_model, fast_passwords):
    """A site of its own and its coordinator (the shared world has recent procedures at both sites)."""
    from django.test import Client

    from vertebro.registry.services.accounts import membership_set
    from vertebro.registry.services.clinical import site_create

    site = site_create(code="SITE-OLD", name="Historical site")
    user = django_user_model.objects.create_user("coordinator_old", password="x-password-123")
    membership_set(user=user, site=site, role="coordinator")
    client = Client()
    client.force_login(user)
    return site, client


def test_an_empty_worklist_of_a_site_without_procedures_says_so(lone_site):
    _, client = lone_site
    page = client.get(WORKLIST).content.decode()
    assert "no procedure is recorded at your sites yet" in page
    assert "Every score in an open window is recorded" not in page


def test_an_empty_worklist_of_a_historical_cohort_says_the_windows_have_closed(lone_site):
    site, client = lone_site
    old = _procedure(site, "VPOLD01", days_ago=3 * 365)
    page = client.get(WORKLIST).content.decode()
    assert "the follow-up windows of your sites' procedures have all closed" in page
    assert f"the most recent procedure was on {old.performed_on.isoformat()}" in page
    assert "Recently treated patients appear here" in page
    assert "Every score in an open window is recorded" not in page
    _procedure(site, "VPNEW01", days_ago=1)  # a recent procedure fills the list again
    assert "VPNEW01" in client.get(WORKLIST).content.decode()


def test_an_empty_filtered_worklist_points_back_to_everything(world):
    page = world.client("coordinator_a").get(WORKLIST, {"status": "due", "timepoint": "12m"}).content.decode()
    assert "Nothing due for this status and timepoint." in page
    assert f'href="{WORKLIST}"' in page


def test_an_empty_worklist_with_every_score_in_says_all_recorded(lone_site):
    from vertebro.registry.services.clinical import pain_assessment_record

    site, client = lone_site
    procedure = _procedure(site, "VPDONE1", days_ago=1)
    for day, after in ((1, False), (0, None)):  # baseline before the procedure, post the day after
        pain_assessment_record(procedure=procedure, assessed_on=date.today() - timedelta(days=day), score=5, after_procedure=after)
    page = client.get(WORKLIST).content.decode()
    assert "Nothing due. Every score in an open window is recorded." in page
