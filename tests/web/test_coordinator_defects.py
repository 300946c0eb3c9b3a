"""Defects a coordinator met on the first day (issue 13): a baseline ticked on a date after the
procedure, the same level recorded twice, a study id that confirmed another site's record, numbers
typed with other scripts' digits — and the smaller ones: what the eligibility panel and the procedure
form say, the login failure banner, the lock-out page, the admin's plurals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import Fracture, ImportBatch, PainAssessment, Patient
from vertebro.registry.services.clinical import SameLevelRecorded, eligibility_record, fracture_create, patient_create


def _pain(world, procedure, day: date, **data):  # noqa: ANN001
    return world.client("coordinator_a").post(
        reverse("web:pain_new", kwargs={"procedure_pk": procedure.pk}),
        {"assessed_on": day.isoformat(), "score": "6", "instrument": "vps"} | data,
    )


# --- a baseline after the procedure --------------------------------------------------------------


def test_a_score_after_the_procedure_ticked_baseline_is_refused_and_says_why(world):
    procedure = world.procedure_a
    procedure.pain_assessments.filter(timepoint="post").delete()
    day = procedure.performed_on + timedelta(days=1)
    response = _pain(world, procedure, day, procedure_day="before")
    assert response.status_code == 200
    assert response.context["form"].errors["assessed_on"] == [
        f"A baseline score is taken on or before the procedure ({procedure.performed_on}); this date is 1 day after it. "
        "Correct the date, or choose “after the procedure”."
    ]
    assert not procedure.pain_assessments.filter(timepoint="post").exists()


def test_editing_a_baseline_to_after_the_procedure_blames_the_date_not_the_post_score(world):
    procedure = world.procedure_a
    baseline = procedure.pain_assessments.get(timepoint="baseline")
    day = procedure.performed_on + timedelta(days=1)
    response = world.client("coordinator_a").post(
        reverse("web:pain_edit", kwargs={"pk": baseline.pk}),
        {"version": baseline.version, "assessed_on": day.isoformat(), "score": "8", "instrument": "vps", "procedure_day": "before"},
    )
    errors = response.context["form"].errors["assessed_on"]
    assert errors[0].startswith("A baseline score is taken on or before the procedure") and "already has a score" not in " ".join(errors)
    baseline.refresh_from_db()
    assert baseline.assessed_on == procedure.performed_on


def test_a_score_before_the_procedure_ticked_after_is_refused(world):
    procedure = world.procedure_a
    procedure.pain_assessments.filter(timepoint="baseline").delete()
    response = _pain(world, procedure, procedure.performed_on - timedelta(days=2), procedure_day="after")
    assert "A score taken after the procedure cannot be dated before it" in response.context["form"].errors["assessed_on"][0]


# --- the same level twice -------------------------------------------------------------------------


def test_a_second_fracture_at_a_recorded_level_asks_for_confirmation(world):
    url = reverse("web:fracture_new", kwargs={"patient_pk": world.patient_a.pk})
    client = world.client("coordinator_a")
    response = client.post(url, {"level": "T12", "etiology": "osteoporotic", "primary_site": "kept"})
    assert response.status_code == 200
    assert response.context["form"].errors["level"] == [
        "T12 is already recorded as a fracture of this patient (osteoporotic (insufficiency)); if this is a second, new "
        "fracture at the same level, confirm it below, else edit the recorded one."
    ]
    html = response.content.decode()
    assert 'name="same_level_confirmed"' in html and 'value="kept"' in html
    assert world.patient_a.fractures.filter(level="T12").count() == 1
    confirmed = client.post(url, {"level": "T12", "etiology": "osteoporotic", "same_level_confirmed": "on"})
    assert confirmed.status_code == 302 and world.patient_a.fractures.filter(level="T12").count() == 2


def test_the_confirmation_box_is_not_shown_until_it_is_needed(world):
    html = world.client("coordinator_a").get(reverse("web:fracture_new", kwargs={"patient_pk": world.patient_a.pk})).content.decode()
    assert "same_level_confirmed" not in html


def test_editing_a_fracture_onto_another_ones_level_asks_too(world):
    l1 = world.patient_a.fractures.get(level="L1")
    response = world.client("coordinator_a").post(
        reverse("web:fracture_edit", kwargs={"pk": l1.pk}), {"version": l1.version, "level": "T12", "etiology": "osteoporotic", "mri_oedema": ""}
    )
    assert response.context["form"].errors["level"][0].startswith("T12 is already recorded")
    l1.refresh_from_db()
    assert l1.level == "L1"


def test_the_service_refuses_the_same_level_unless_confirmed(world):
    with pytest.raises(SameLevelRecorded):
        fracture_create(patient=world.patient_a, level="L1", etiology="osteoporotic")
    assert fracture_create(patient=world.patient_a, level="L1", etiology="osteoporotic", same_level_confirmed=True).level == "L1"
    assert fracture_create(patient=world.patient_a, level=None, etiology="osteoporotic").level is None  # unknown levels never clash


# --- study ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("study_id", ["VPA0001", "VPB0001"])  # at the user's site, and at a site they cannot see
def test_a_study_id_in_use_is_not_available_wherever_it_is(world, study_id):
    response = world.client("coordinator_a").post(
        reverse("web:patient_new"), {"study_id": study_id, "site": world.site_a.pk, "sex": "F", "age_at_index": "70"}
    )
    message = response.context["form"].errors["study_id"]
    assert message == ["This study id is not available: choose another (if the patient is already registered, find them in the patient list)."]
    assert "exists" not in response.content.decode() and "SITE-B" not in message[0]
    assert Patient.objects.filter(study_id=study_id).count() == 1


def test_renaming_a_patient_to_a_study_id_in_use_is_refused_the_same_way(world):
    patient = world.patient_a
    response = world.client("coordinator_a").post(reverse("web:patient_edit", kwargs={"pk": patient.pk}), {
        "version": patient.version, "study_id": "VPB0001", "site": patient.site_id, "sex": patient.sex,
        "birth_date": patient.birth_date.isoformat()})
    assert response.context["form"].errors["study_id"][0].startswith("This study id is not available")


# --- digits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["٣", "１０", "7\u0663", "²"])
def test_numbers_typed_with_other_digits_are_refused_beside_the_field(world, typed):
    procedure = world.procedure_a
    procedure.pain_assessments.filter(timepoint="post").delete()
    response = _pain(world, procedure, procedure.performed_on + timedelta(days=1), score=typed)
    assert response.status_code == 200
    errors = response.context["form"].errors["score"]
    assert len(errors) == 1 and errors[0].startswith("Type the number with the digits 0–9:")
    assert not PainAssessment.objects.filter(procedure=procedure, timepoint="post").exists()


def test_every_numeric_field_of_the_forms_takes_ascii_digits_only(world):
    client = world.client("coordinator_a")
    age = client.post(reverse("web:patient_new"), {"study_id": "VPA0900", "site": world.site_a.pk, "sex": "F", "age_at_index": "٧٠"})
    assert age.context["form"].errors["age_at_index"][0].startswith("Type the number with the digits 0–9")
    height = client.post(reverse("web:fracture_new", kwargs={"patient_pk": world.patient_a.pk}),
                         {"level": "T3", "etiology": "osteoporotic", "height_loss_pct": "２０"})
    assert height.context["form"].errors["height_loss_pct"][0].startswith("Type the number with the digits 0–9")
    fracture = world.patient_a.fractures.get(level="T12")
    version = client.post(reverse("web:fracture_edit", kwargs={"pk": fracture.pk}),
                          {"version": "١", "level": "T12", "etiology": "osteoporotic", "mri_oedema": ""})
    assert version.status_code == 200 and "version" in version.context["form"].errors
    assert not Patient.objects.filter(study_id="VPA0900").exists() and not Fracture.objects.filter(level="T3").exists()


# --- smaller --------------------------------------------------------------------------------------


def test_the_eligibility_panel_lists_what_was_ticked(world):
    patient = patient_create(study_id="VPA0800", site=world.site_a, sex="F", age_at_index=70)
    eligibility_record(patient=patient, assessed_on=date.today(), indications=["osteoporotic_refractory", "osteoporotic_immobile"],
                       absolute=[], relative=["radicular_pain"])
    html = world.client("coordinator_a").get(reverse("web:patient", kwargs={"pk": patient.pk})).content.decode()
    assert "Painful osteoporotic fracture refractory to medical therapy; Pain prevents ambulation despite 24 h of analgesia" in html
    assert "<strong>Relative contraindications:</strong> Radicular pain" in html
    assert "<strong>Absolute contraindications:</strong> none ticked" in html


def test_the_procedure_form_says_when_no_indication_is_recorded(world):
    patient = patient_create(study_id="VPA0801", site=world.site_a, sex="F", age_at_index=70)
    fracture_create(patient=patient, level="T9", etiology="osteoporotic")
    eligibility_record(patient=patient, assessed_on=date.today(), indications=[], absolute=[], relative=[])
    html = world.client("coordinator_a").get(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})).content.decode()
    assert f"The eligibility checklist of {date.today()} records no indication for augmentation" in html
    clean = world.client("coordinator_a").get(reverse("web:procedure_new", kwargs={"patient_pk": world.patient_a.pk})).content.decode()
    assert "records no indication" not in clean


def test_a_failed_login_speaks_of_the_login_not_of_saving(world):
    html = world.client(None).post("/login/", {"username": "coordinator_a", "password": "wrong"}, REMOTE_ADDR="10.9.9.9").content.decode()
    assert "You are not logged in." in html and "Nothing was saved" not in html
    assert 'class="form-errors" role="alert" tabindex="-1" autofocus' in html  # focus starts at what went wrong


def test_the_lock_out_page_says_how_long_is_left(world, settings):
    client = world.client(None)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/login/", {"username": "coordinator_a", "password": "wrong"}, REMOTE_ADDR="10.9.9.8")
    html = response.content.decode()
    assert "Too many failed log-in attempts" in html
    assert "You can try again in 15 minutes." in html


def test_the_admin_says_import_batches(world):
    assert ImportBatch._meta.verbose_name_plural == "import batches"
    html = world.client("superuser").get("/admin/").content.decode()
    assert "Import batches" in html and "Import batchs" not in html
