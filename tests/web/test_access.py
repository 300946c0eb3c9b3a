"""Every view, for every role, at the user's own site and at the other site (URL guessing included)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from vertebro.registry.models import Fracture, PainAssessment

ROLES = ["coordinator_a", "investigator_a", "analyst_a", "site_admin_a", "superuser", "coordinator_b"]
EDITORS = {"coordinator_a", "investigator_a", "site_admin_a", "superuser"}

# (url name, which record's id the URL takes)
READ_VIEWS = [
    ("web:patient", "patient"),
    ("web:patient_history", "patient"),
]
EDIT_VIEWS = [
    ("web:patient_edit", "patient"),
    ("web:fracture_new", "patient"),
    ("web:fracture_edit", "fracture"),
    ("web:eligibility_new", "patient"),
    ("web:procedure_new", "patient"),
    ("web:procedure_edit", "procedure"),
    ("web:complication_new", "procedure"),
    ("web:complication_edit", "complication"),
    ("web:pain_new", "procedure"),
    ("web:pain_edit", "pain"),
    ("web:follow_up_new", "procedure"),
    ("web:follow_up_edit", "follow_up"),
]
#: "new" views hang under their parent (patient_pk / procedure_pk); the others take the record's pk.
PARENT_KWARG = {"patient": "patient_pk", "procedure": "procedure_pk"}
HISTORY_KINDS = [("patient", "patient"), ("fracture", "fracture"), ("procedure", "procedure"), ("complication", "complication"),
                 ("pain", "pain"), ("follow-up", "follow_up"), ("eligibility", "eligibility")]


def _url(name: str, ids: dict, key: str) -> str:
    kwarg = PARENT_KWARG[key] if name.endswith("_new") else "pk"
    return reverse(name, kwargs={kwarg: ids[key]})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,key", READ_VIEWS)
def test_read_views_are_open_to_every_role_of_the_site_only(world, role, name, key):
    response = world.client(role).get(_url(name, world.record(world.patient_a), key))
    assert response.status_code == (404 if role == "coordinator_b" else 200)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,key", EDIT_VIEWS)
def test_edit_views_are_for_editing_roles_of_the_site_only(world, role, name, key):
    response = world.client(role).get(_url(name, world.record(world.patient_a), key))
    expected = 404 if role == "coordinator_b" else 200 if role in EDITORS else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind,key", HISTORY_KINDS)
def test_record_history_follows_the_site_of_its_patient(world, role, kind, key):
    ids = world.record(world.patient_a)
    response = world.client(role).get(reverse("web:record_history", kwargs={"kind": kind, "pk": ids[key]}))
    assert response.status_code == (404 if role == "coordinator_b" else 200)


@pytest.mark.parametrize("role", ROLES)
def test_override_is_for_investigators_and_admins(world, role):
    ids = world.record(world.patient_a)
    response = world.client(role).get(reverse("web:eligibility_override", kwargs={"pk": ids["eligibility"]}))
    if role == "coordinator_b":
        assert response.status_code == 404
    elif role in {"investigator_a", "site_admin_a", "superuser"}:
        assert response.status_code == 302  # nothing blocked in this checklist: back to the patient
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["web:dashboard", "web:patients"])
def test_site_wide_pages_open_to_every_role(world, role, name):
    assert world.client(role).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["web:worklist", "web:patient_new"])
def test_worklist_and_new_patient_are_for_editing_roles(world, role, name):
    status = world.client(role).get(reverse(name)).status_code
    assert status == (403 if role == "analyst_a" else 200)


@pytest.mark.parametrize("name,key", READ_VIEWS + EDIT_VIEWS)
def test_anonymous_is_sent_to_log_in(world, name, key):
    url = _url(name, world.record(world.patient_a), key)
    response = world.client(None).get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_coordinator_cannot_see_other_site(world):
    client = world.client("coordinator_a")
    assert client.get(reverse("web:patient", kwargs={"pk": world.patient_b.pk})).status_code == 404
    listing = client.get(reverse("web:patients")).content.decode()
    assert "VPA0001" in listing and "VPB0001" not in listing


def test_coordinator_cannot_guess_other_site_record_urls(world):
    client = world.client("coordinator_a")
    ids = world.record(world.patient_b)
    for name, key in READ_VIEWS + EDIT_VIEWS:
        assert client.get(_url(name, ids, key)).status_code == 404, name
    for kind, key in HISTORY_KINDS:
        assert client.get(reverse("web:record_history", kwargs={"kind": kind, "pk": ids[key]})).status_code == 404


def test_other_site_and_missing_record_look_the_same(world):
    client = world.client("coordinator_a")
    other_site = client.get(reverse("web:patient", kwargs={"pk": world.patient_b.pk}))
    missing = client.get(reverse("web:patient", kwargs={"pk": 999_999}))
    assert other_site.status_code == missing.status_code == 404
    without_token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert without_token.sub(b"", other_site.content) == without_token.sub(b"", missing.content)


def test_coordinator_cannot_write_to_other_site_by_post(world):
    client = world.client("coordinator_a")
    ids = world.record(world.patient_b)
    before = Fracture.objects.count()
    response = client.post(reverse("web:fracture_new", kwargs={"patient_pk": ids["patient"]}), {"level": "L2", "etiology": "osteoporotic"})
    assert response.status_code == 404 and Fracture.objects.count() == before
    response = client.post(reverse("web:pain_new", kwargs={"procedure_pk": ids["procedure"]}),
                           {"assessed_on": "2020-01-01", "score": "1", "instrument": "vps"})
    assert response.status_code == 404


def test_analyst_cannot_edit(world):
    client = world.client("analyst_a")
    ids = world.record(world.patient_a)
    before = PainAssessment.objects.count()
    response = client.post(reverse("web:pain_new", kwargs={"procedure_pk": ids["procedure"]}),
                           {"assessed_on": "2020-01-01", "score": "1", "instrument": "vps"})
    assert response.status_code == 403 and PainAssessment.objects.count() == before
    page = client.get(reverse("web:patient", kwargs={"pk": ids["patient"]})).content.decode()
    assert reverse("web:patient_edit", kwargs={"pk": ids["patient"]}) not in page


def test_a_coordinator_cannot_move_a_patient_to_a_site_they_do_not_work_at(world):
    client = world.client("coordinator_a")
    patient = world.patient_a
    response = client.post(
        reverse("web:patient_edit", kwargs={"pk": patient.pk}),
        {"version": patient.version, "study_id": patient.study_id, "site": world.site_b.pk, "sex": "F", "birth_date": "1941-07-19"},
    )
    assert response.status_code == 200
    assert "Choose one of the sites where you may record patients." in response.content.decode()
    patient.refresh_from_db()
    assert patient.site_id == world.site_a.pk


def test_user_without_site_sees_nothing(world, django_user_model):
    from django.test import Client

    lonely = django_user_model.objects.create_user("lonely", password="x")
    client = Client()
    client.force_login(lonely)
    page = client.get(reverse("web:dashboard")).content.decode()
    assert "no site yet" in page
    assert "VPA0001" not in client.get(reverse("web:patients")).content.decode()
    assert client.get(reverse("web:patient", kwargs={"pk": world.patient_a.pk})).status_code == 404


def test_superuser_sees_every_site(world):
    listing = world.client("superuser").get(reverse("web:patients")).content.decode()
    assert "VPA0001" in listing and "VPB0001" in listing
