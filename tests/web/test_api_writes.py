"""API writes go through the web forms' validation and the same services: the same messages per field,
the history credits the token user, a stale ``version`` is 409, another site's record is 404, a
read-only role is 403, and a refused write writes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from vertebro.registry.models import FollowUp, PainAssessment, Patient, Procedure
from vertebro.registry.services.api_tokens import api_token_create
from vertebro.registry.web.forms.assessments import FollowUpForm, PainForm
from vertebro.registry.web.forms.patients import PatientForm

JSON = "application/json"


def _client(world, username: str) -> Client:
    secret = api_token_create(user=world.users[username], label="test").secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _day(world, days: int) -> str:
    return (world.procedure_a.performed_on + timedelta(days=days)).isoformat()


def _follow_up_body(world, **overrides) -> dict:
    return {"procedure": world.procedure_a.pk, "seen_on": _day(world, 16), "venue": "telephone", "recurrent_pain": False,
            "further_procedure": False} | overrides


# --- pain scores --------------------------------------------------------------------------------

def test_coordinator_can_create_assessment_at_own_site_with_source_api(world):
    response = _client(world, "coordinator_a").post(
        "/api/v1/assessments/", {"procedure": world.procedure_a.pk, "assessed_on": _day(world, 16), "score": 2.5}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    created = PainAssessment.objects.get(pk=response.json()["id"])
    assert (created.timepoint, created.score, created.source) == ("1m", 2.5, "api")
    assert created.history.get().history_user == world.users["coordinator_a"]


def test_assessment_create_error_messages_equal_the_forms(world):
    body = {"assessed_on": _day(world, 0), "score": 12}
    response = _client(world, "coordinator_a").post("/api/v1/assessments/", body | {"procedure": world.procedure_a.pk}, content_type=JSON)
    form = PainForm(body | {"instrument": "vps"}, procedure=world.procedure_a)  # the API defaults the scale as the form does
    assert not form.is_valid()
    assert response.status_code == 400
    assert response.json() == {field: list(messages) for field, messages in form.errors.items()}
    assert set(response.json()) == {"score", "procedure_day"}


def test_duplicate_timepoint_score_is_refused_and_writes_nothing(world):
    before = PainAssessment.objects.count()
    response = _client(world, "coordinator_a").post(
        "/api/v1/assessments/", {"procedure": world.procedure_a.pk, "assessed_on": _day(world, 7), "score": 1}, content_type=JSON
    )
    assert response.status_code == 400 and list(response.json()) == ["assessed_on"]
    assert PainAssessment.objects.count() == before


def test_analyst_cannot_write(world):
    client = _client(world, "analyst_a")
    before = (PainAssessment.objects.count(), FollowUp.objects.count())
    score = client.post("/api/v1/assessments/", {"procedure": world.procedure_a.pk, "assessed_on": _day(world, 16), "score": 1}, content_type=JSON)
    visit = client.post("/api/v1/follow-ups/", _follow_up_body(world), content_type=JSON)
    existing = world.procedure_a.follow_ups.get()
    change = client.patch(f"/api/v1/follow-ups/{existing.pk}/", {"version": existing.version, "venue": "telephone"}, content_type=JSON)
    assert (score.status_code, visit.status_code, change.status_code) == (403, 403, 403)
    assert (PainAssessment.objects.count(), FollowUp.objects.count()) == before
    assert FollowUp.objects.get(pk=existing.pk).version == existing.version


def test_other_site_create_is_404(world):
    response = _client(world, "coordinator_b").post(
        "/api/v1/assessments/", {"procedure": world.procedure_a.pk, "assessed_on": _day(world, 16), "score": 1}, content_type=JSON
    )
    assert response.status_code == 404
    assert not world.procedure_a.pain_assessments.filter(timepoint="1m").exists()


def test_patch_sets_source_api_and_credits_the_api_user(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    response = _client(world, "investigator_a").patch(
        f"/api/v1/assessments/{assessment.pk}/", {"version": assessment.version, "score": 4}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    assessment.refresh_from_db()
    assert (assessment.score, assessment.source) == (4, "api")
    assert assessment.history.order_by("-history_id").first().history_user == world.users["investigator_a"]


# --- follow-ups ---------------------------------------------------------------------------------

def test_coordinator_can_create_followup_at_own_site(world):
    response = _client(world, "coordinator_a").post("/api/v1/follow-ups/", _follow_up_body(world, new_fracture_level="L2"), content_type=JSON)
    assert response.status_code == 201, response.content
    visit = FollowUp.objects.get(pk=response.json()["id"])
    assert (visit.venue, visit.new_fracture, visit.new_fracture_level, visit.recurrent_pain) == ("telephone", True, "L2", False)
    assert visit.history.get().history_user == world.users["coordinator_a"]


def test_followup_error_messages_equal_the_forms(world):
    body = _follow_up_body(world, seen_on=_day(world, -1), venue="", recurrent_pain="perhaps")
    response = _client(world, "coordinator_a").post("/api/v1/follow-ups/", body, content_type=JSON)
    form = FollowUpForm({k: v for k, v in body.items() if k != "procedure"} | {"further_procedure": "no"}, procedure=world.procedure_a)
    assert not form.is_valid()
    assert response.status_code == 400
    assert response.json() == {field: list(messages) for field, messages in form.errors.items()}
    assert {"seen_on", "venue", "recurrent_pain"} <= set(response.json())
    assert world.procedure_a.follow_ups.count() == 1


def test_followup_patch_changes_it_with_history_of_the_api_user(world):
    visit = world.procedure_a.follow_ups.get()
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/follow-ups/{visit.pk}/", {"version": visit.version, "recurrent_pain": True}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert visit.recurrent_pain is True and visit.version == 2 and response.json()["version"] == 2
    assert visit.venue == "neurointerventional_clinic" and visit.analgesics == "non_opioid"  # untouched fields kept
    assert visit.history.order_by("-history_id").first().history_user == world.users["coordinator_a"]


def test_stale_version_patch_is_409(world):
    visit = world.procedure_a.follow_ups.get()
    client = _client(world, "coordinator_a")
    url = f"/api/v1/follow-ups/{visit.pk}/"
    assert client.patch(url, {"version": 1, "recurrent_pain": True}, content_type=JSON).status_code == 200
    stale = client.patch(url, {"version": 1, "venue": "telephone"}, content_type=JSON)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert FollowUp.objects.get(pk=visit.pk).venue == "neurointerventional_clinic"


def test_other_site_patch_is_404(world):
    visit = world.procedure_a.follow_ups.get()
    response = _client(world, "coordinator_b").patch(f"/api/v1/follow-ups/{visit.pk}/", {"version": 1, "venue": "telephone"}, content_type=JSON)
    assert response.status_code == 404
    assert FollowUp.objects.get(pk=visit.pk).version == 1


def test_rejected_followup_patch_writes_nothing(world):
    visit = world.procedure_a.follow_ups.get()
    history_rows = visit.history.count()
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/follow-ups/{visit.pk}/", {"version": 1, "seen_on": _day(world, -3)}, content_type=JSON
    )
    assert response.status_code == 400 and list(response.json()) == ["seen_on"]
    assert FollowUp.objects.get(pk=visit.pk).version == 1 and visit.history.count() == history_rows


# --- patients -----------------------------------------------------------------------------------

def test_coordinator_can_create_patient_at_own_site(world):
    body = {"study_id": "VPA0002", "site": "SITE-A", "sex": "M", "age_at_index": 71, "mrn": "MRN-A-9", "name": "Cy Dunn"}
    response = _client(world, "coordinator_a").post("/api/v1/patients/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    patient = Patient.objects.get(study_id="VPA0002")
    assert (patient.site, patient.sex, patient.age_at_index, patient.mrn) == (world.site_a, "M", 71, "MRN-A-9")
    assert patient.history.get().history_user == world.users["coordinator_a"]
    assert response.json()["mrn"] == "MRN-A-9"


def test_patient_create_error_messages_equal_the_forms(world):
    body = {"study_id": "VPA0001", "site": "SITE-A", "sex": "X"}
    response = _client(world, "coordinator_a").post("/api/v1/patients/", body, content_type=JSON)
    form = PatientForm(body | {"site": world.site_a.pk}, sites=[(world.site_a.pk, "SITE-A")])
    assert not form.is_valid()
    assert response.status_code == 400
    assert response.json() == {field: list(messages) for field, messages in form.errors.items()}
    assert Patient.objects.filter(site=world.site_a).count() == 1


def test_taken_study_id_is_refused_and_writes_nothing(world):
    body = {"study_id": "VPA0001", "site": "SITE-A", "sex": "F", "age_at_index": 70}
    response = _client(world, "coordinator_a").post("/api/v1/patients/", body, content_type=JSON)
    assert response.status_code == 400 and list(response.json()) == ["study_id"]
    assert Patient.objects.filter(site=world.site_a).count() == 1


def test_patient_at_other_site_is_404_and_analyst_is_403(world):
    body = {"study_id": "VPA0003", "site": "SITE-A", "sex": "F", "age_at_index": 70}
    assert _client(world, "coordinator_b").post("/api/v1/patients/", body, content_type=JSON).status_code == 404
    assert _client(world, "analyst_a").post("/api/v1/patients/", body, content_type=JSON).status_code == 403
    url = f"/api/v1/patients/{world.patient_a.pk}/"
    assert _client(world, "coordinator_b").patch(url, {"version": 1, "sex": "M"}, content_type=JSON).status_code == 404
    assert _client(world, "analyst_a").patch(url, {"version": 1, "mrn": "X"}, content_type=JSON).status_code == 403
    assert not Patient.objects.filter(study_id="VPA0003").exists()
    assert Patient.objects.get(pk=world.patient_a.pk).version == 1


def test_patient_patch_keeps_other_fields_and_stale_is_409(world):
    client = _client(world, "coordinator_a")
    url = f"/api/v1/patients/{world.patient_a.pk}/"
    response = client.patch(url, {"version": 1, "sex": "M"}, content_type=JSON)
    assert response.status_code == 200, response.content
    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert (patient.sex, patient.version, patient.mrn, patient.birth_date) == ("M", 2, world.phi_a[1], world.phi_a[2])
    assert patient.history.order_by("-history_id").first().history_user == world.users["coordinator_a"]
    stale = client.patch(url, {"version": 1, "name": "Someone Else"}, content_type=JSON)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert Patient.objects.get(pk=world.patient_a.pk).name == world.phi_a[0]


# --- procedures ---------------------------------------------------------------------------------

def test_procedure_patch_changes_approach_and_keeps_levels(world):
    procedure = world.procedure_a
    levels = sorted(procedure.treated_levels.values_list("fracture_id", "cement_ml"))
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/procedures/{procedure.pk}/", {"version": procedure.version, "approach": "unipedicular"}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    procedure.refresh_from_db()
    assert (procedure.approach, procedure.version) == ("unipedicular", 2)
    assert sorted(procedure.treated_levels.values_list("fracture_id", "cement_ml")) == levels
    assert procedure.history.order_by("-history_id").first().history_user == world.users["coordinator_a"]


def test_procedure_patch_error_messages_equal_the_forms_and_write_nothing(world):
    procedure = world.procedure_a
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/procedures/{procedure.pk}/", {"version": 1, "biopsy_taken": False, "biopsy_result": "malignant", "levels": []}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["levels"] == ["Tick at least one treated level."]
    assert response.json()["biopsy_result"] == ["A biopsy result needs a biopsy: answer “Biopsy taken” yes, or clear the result."]
    assert Procedure.objects.get(pk=procedure.pk).version == 1


def test_procedure_stale_patch_is_409_other_site_404_analyst_403(world):
    url = f"/api/v1/procedures/{world.procedure_a.pk}/"
    client = _client(world, "coordinator_a")
    assert client.patch(url, {"version": 1, "approach": "unipedicular"}, content_type=JSON).status_code == 200
    stale = client.patch(url, {"version": 1, "approach": "parapedicular"}, content_type=JSON)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert _client(world, "coordinator_b").patch(url, {"version": 2, "approach": "bipedicular"}, content_type=JSON).status_code == 404
    assert _client(world, "analyst_a").patch(url, {"version": 2, "approach": "bipedicular"}, content_type=JSON).status_code == 403
    assert Procedure.objects.get(pk=world.procedure_a.pk).approach == "unipedicular"


def test_coordinator_can_create_procedure_at_own_site(world):
    patient = world.patient_a
    fracture = patient.fractures.order_by("id").last()
    body = {"patient": patient.pk, "performed_on": _day(world, 10), "levels": [{"fracture": fracture.pk, "cement_ml": 2.5}]}
    response = _client(world, "coordinator_a").post("/api/v1/procedures/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    procedure = Procedure.objects.get(pk=response.json()["id"])
    assert list(procedure.treated_levels.values_list("fracture_id", "cement_ml")) == [(fracture.pk, 2.5)]
    assert procedure.history.get().history_user == world.users["coordinator_a"]


def test_a_value_of_the_wrong_json_type_is_400_naming_the_field(world):
    client = _client(world, "coordinator_a")
    visit = world.procedure_a.follow_ups.get()
    response = client.patch(f"/api/v1/follow-ups/{visit.pk}/", {"version": 1, "seen_on": [None, None]}, content_type=JSON)
    assert response.status_code == 400 and list(response.json()) == ["seen_on"]
    for not_a_date in (False, 20260101):
        response = client.patch(f"/api/v1/follow-ups/{visit.pk}/", {"version": 1, "seen_on": not_a_date}, content_type=JSON)
        assert response.status_code == 400 and list(response.json()) == ["seen_on"]
    levels = client.patch(f"/api/v1/procedures/{world.procedure_a.pk}/", {"version": 1, "levels": [{"fracture": {}}]}, content_type=JSON)
    assert levels.status_code == 400 and list(levels.json()) == ["levels"]
    assert (FollowUp.objects.get(pk=visit.pk).version, Procedure.objects.get(pk=world.procedure_a.pk).version) == (1, 1)
