"""Every API endpoint, for every role at the record's site, at the other site, a user with different roles
at the two sites, a superuser and an anonymous caller, always about site A's records.

A list shows exactly the caller's sites; a site A record is 200 for its members and 404 for everyone else
(the same answer as for a record that does not exist); a write is allowed to site A's editors only and a
refused write changes nothing; identifiers appear only for roles that see them at the record's site.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from vertebro.registry.api import urls as api_urls
from vertebro.registry.models import FollowUp, PainAssessment, Patient, Procedure
from vertebro.registry.services.api_tokens import api_token_create
from roster import EDIT_ROLES, USERS, add_roster

LISTS = {"patients": "/api/v1/patients/", "procedures": "/api/v1/procedures/", "assessments": "/api/v1/assessments/",
         "follow_ups": "/api/v1/follow-ups/"}
#: URL names tested here; every URL of vertebro.registry.api.urls must be in one of them.
COVERED = set(LISTS) | {"patient", "procedure", "assessment", "follow_up", "imports", "analysis", "schema"}


def test_every_api_url_is_in_the_matrix():
    assert {p.name for p in api_urls.urlpatterns} == COVERED


@pytest.fixture
def callers(world, django_user_model):
    add_roster(world, django_user_model)
    clients = {"anonymous": Client()}
    for username in USERS:
        if username != "anonymous":
            clients[username] = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world.users[username], label='m').secret}")
    return world, clients


@pytest.mark.parametrize("username", list(USERS))
@pytest.mark.parametrize("name", list(LISTS))
def test_lists_show_exactly_the_callers_sites(callers, username, name):
    world, clients = callers
    response = clients[username].get(LISTS[name])
    if username == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    role_a, role_b = USERS[username]
    expected = {code for code, role in (("VPA0001", role_a), ("VPB0001", role_b)) if role}
    assert {row["study_id"] for row in response.json()["results"]} == expected


@pytest.mark.parametrize("username", list(USERS))
def test_site_a_patient_and_assessment_for_each_caller(callers, username):
    world, clients = callers
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    client = clients[username]
    role_a = USERS[username][0]
    patient = client.get(f"/api/v1/patients/{world.patient_a.pk}/")
    detail = client.get(f"/api/v1/assessments/{assessment.pk}/")
    if username == "anonymous":
        assert (patient.status_code, detail.status_code) == (401, 401)
        return
    if role_a is None:
        assert (patient.status_code, detail.status_code) == (404, 404)
        return
    assert (patient.status_code, detail.status_code) == (200, 200)
    sees_identifiers = role_a in EDIT_ROLES
    assert ("mrn" in patient.json()) is sees_identifiers
    assert (world.phi_a[0] in patient.content.decode()) is sees_identifiers
    assert ("assessed_on" in detail.json()) is sees_identifiers


@pytest.mark.parametrize("username", list(USERS))
def test_write_to_site_a_assessment_for_each_caller(callers, username):
    world, clients = callers
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    response = clients[username].patch(
        f"/api/v1/assessments/{assessment.pk}/", {"version": assessment.version, "score": 5}, content_type="application/json"
    )
    role_a = USERS[username][0]
    expected = 401 if username == "anonymous" else 404 if role_a is None else 200 if role_a in EDIT_ROLES else 403
    assert response.status_code == expected
    stored = PainAssessment.objects.get(pk=assessment.pk)
    assert (stored.score == 5) is (expected == 200)


def _day(world, days: int) -> str:
    return (world.procedure_a.performed_on + timedelta(days=days)).isoformat()


def _version_of(model, pk: int):  # noqa: ANN001, ANN202
    return lambda: model.objects.get(pk=pk).version


#: name → (method, url, body, whether it wrote) of one write to a site A record; each builds from the world.
WRITES = {
    "post_patient": lambda w: ("post", "/api/v1/patients/", {"study_id": "VPA0009", "site": "SITE-A", "sex": "F", "age_at_index": 70},
                               lambda: Patient.objects.filter(study_id="VPA0009").exists()),
    "patch_patient": lambda w: ("patch", f"/api/v1/patients/{w.patient_a.pk}/", {"version": 1, "sex": "M"},
                                lambda: Patient.objects.get(pk=w.patient_a.pk).version == 2),
    "post_procedure": lambda w: ("post", "/api/v1/procedures/", {"patient": w.patient_a.pk, "performed_on": _day(w, 10),
                                 "levels": [{"fracture": w.patient_a.fractures.order_by("id").last().pk, "cement_ml": 2}]},
                                 lambda: w.patient_a.procedures.count() == 2),
    "patch_procedure": lambda w: ("patch", f"/api/v1/procedures/{w.procedure_a.pk}/", {"version": 1, "approach": "unipedicular"},
                                  lambda: Procedure.objects.get(pk=w.procedure_a.pk).version == 2),
    "post_assessment": lambda w: ("post", "/api/v1/assessments/", {"procedure": w.procedure_a.pk, "assessed_on": _day(w, 16), "score": 1},
                                  lambda: w.procedure_a.pain_assessments.filter(timepoint="1m").exists()),
    "post_follow_up": lambda w: ("post", "/api/v1/follow-ups/", {"procedure": w.procedure_a.pk, "seen_on": _day(w, 16), "venue": "telephone",
                                 "recurrent_pain": False, "further_procedure": False}, lambda: w.procedure_a.follow_ups.count() == 2),
    "patch_follow_up": lambda w: ("patch", f"/api/v1/follow-ups/{w.procedure_a.follow_ups.get().pk}/", {"version": 1, "recurrent_pain": True},
                                  lambda: FollowUp.objects.get(pk=w.procedure_a.follow_ups.get().pk).version == 2),
}


@pytest.mark.parametrize("username", list(USERS))
@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_to_site_a_for_each_caller(callers, username, name):
    world, clients = callers
    method, url, body, wrote = WRITES[name](world)
    response = getattr(clients[username], method)(url, body, content_type="application/json")
    role_a = USERS[username][0]
    done = 201 if method == "post" else 200
    expected = 401 if username == "anonymous" else 404 if role_a is None else done if role_a in EDIT_ROLES else 403
    assert response.status_code == expected, response.content
    assert wrote() is (expected == done)


@pytest.mark.parametrize("username", list(USERS))
def test_site_a_procedure_and_follow_up_detail_for_each_caller(callers, username):
    world, clients = callers
    client = clients[username]
    procedure = client.get(f"/api/v1/procedures/{world.procedure_a.pk}/")
    visit = client.get(f"/api/v1/follow-ups/{world.procedure_a.follow_ups.get().pk}/")
    role_a = USERS[username][0]
    expected = 401 if username == "anonymous" else 404 if role_a is None else 200
    assert (procedure.status_code, visit.status_code) == (expected, expected)
    if expected == 200:
        sees_identifiers = role_a in EDIT_ROLES
        assert ("operator" in procedure.json(), "seen_on" in visit.json()) == (sees_identifiers, sees_identifiers)


@pytest.mark.parametrize("username", list(USERS))
def test_imports_analysis_and_schema_for_each_caller(callers, username):
    world, clients = callers
    client = clients[username]
    assert client.get("/api/v1/schema/").status_code == 200  # the schema is public: it holds no data
    imports, analysis = client.get("/api/v1/imports/"), client.get("/api/v1/analysis/")
    if username == "anonymous":
        assert (imports.status_code, analysis.status_code) == (401, 401)
        return
    assert imports.status_code == 200
    assert analysis.status_code == 200 and analysis.json()["schema"] == "vertebro.analysis/1"
