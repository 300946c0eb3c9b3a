"""Fracture form and the eligibility checklist, with its block and the investigator's override."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import EligibilityAssessment, Fracture, Procedure
from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create


def _fracture_url(world):
    return reverse("web:fracture_new", kwargs={"patient_pk": world.patient_a.pk})


def test_record_a_pathologic_fracture(world):
    data = {"level": "T9", "etiology": "pathologic", "pathologic_cause": "metastasis", "pathologic_basis": "imaging_and_biopsy",
            "primary_site": "breast", "onset_date": "2024-01-10", "mri_oedema": "yes", "height_loss_pct": "35"}
    response = world.client("coordinator_a").post(_fracture_url(world), data)
    assert response.status_code == 302
    fracture = Fracture.objects.get(patient=world.patient_a, level="T9")
    assert (fracture.pathologic_cause, fracture.primary_site, fracture.mri_oedema, fracture.height_loss_pct) == ("metastasis", "breast", True, 35.0)
    assert response["Location"].endswith(f"#fracture-{fracture.pk}")


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"etiology": ""}, "etiology", "Choose the etiology."),
        ({"etiology": "pathologic"}, "pathologic_cause", "A pathologic fracture needs its cause"),
        ({"etiology": "pathologic", "pathologic_cause": "myeloma"}, "pathologic_basis", "A pathologic fracture needs its basis"),
        ({"pathologic_cause": "myeloma"}, "pathologic_cause", "Only a pathologic fracture has a cause"),
        ({"pathologic_basis": "biopsy"}, "pathologic_basis", "Only a pathologic fracture has a basis"),
        ({"height_loss_pct": "120"}, "height_loss_pct", "Height loss must be a percentage from 0 to 100."),
        ({"height_loss_pct": "a lot"}, "height_loss_pct", "Enter a percentage from 0 to 100"),
        ({"onset_date": "1970-01-01"}, "onset_date", "A date must lie between 1980-01-01"),
        ({"level": "T13"}, "level", "Choose one of the options in the list."),
    ],
)
def test_fracture_errors_beside_the_field(world, data, field, message):
    posted = {"level": "T7", "etiology": "osteoporotic", "primary_site": "keep-this"} | data
    response = world.client("coordinator_a").post(_fracture_url(world), posted)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert 'value="keep-this"' in response.content.decode()
    assert not Fracture.objects.filter(patient=world.patient_a, level="T7").exists()


def test_edit_fracture_and_conflict(world):
    fracture = world.patient_a.fractures.get(level="T12")
    url = reverse("web:fracture_edit", kwargs={"pk": fracture.pk})
    stale = {"version": fracture.version, "level": "T12", "etiology": "osteoporotic", "mri_oedema": ""}
    assert world.client("coordinator_a").post(url, stale | {"height_loss_pct": "20"}).status_code == 302
    response = world.client("investigator_a").post(url, stale | {"height_loss_pct": "40"})
    assert response.status_code == 409
    rows = {row["label"]: row for row in response.context["conflict"]["rows"]}
    assert (rows["Height loss (%)"]["saved"], rows["Height loss (%)"]["yours"], rows["Height loss (%)"]["state"]) == ("20", "40", "both")
    fracture.refresh_from_db()
    assert fracture.height_loss_pct == 20


# --- eligibility --------------------------------------------------------------------------------


def _fresh_patient(world, study_id="VPA0400"):
    patient = patient_create(study_id=study_id, site=world.site_a, sex="F", age_at_index=80)
    fracture_create(patient=patient, level="L3", etiology="osteoporotic")
    return patient


def test_procedure_form_waits_for_the_checklist(world):
    patient = _fresh_patient(world)
    html = world.client("coordinator_a").get(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})).content.decode()
    assert "Complete the eligibility checklist first" in html and 'name="performed_on"' not in html


def test_checklist_without_contraindication_opens_the_procedure_form(world):
    patient = _fresh_patient(world)
    client = world.client("coordinator_a")
    response = client.post(reverse("web:eligibility_new", kwargs={"patient_pk": patient.pk}),
                           {"assessed_on": date.today().isoformat(), "indications": ["osteoporotic_refractory"], "relative": ["radicular_pain"]})
    assert response.status_code == 302
    assessment = EligibilityAssessment.objects.get(patient=patient)
    assert assessment.relative_contraindications == ["radicular_pain"] and assessment.assessed_by == world.users["coordinator_a"]
    html = client.get(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})).content.decode()
    assert 'name="performed_on"' in html


def test_checklist_date_errors(world):
    patient = _fresh_patient(world)
    response = world.client("coordinator_a").post(reverse("web:eligibility_new", kwargs={"patient_pk": patient.pk}),
                                                  {"assessed_on": "", "indications": ["osteoporotic_refractory"]})
    assert response.context["form"].errors["assessed_on"] == ["Enter the date of the assessment."]
    assert re.search(r'value="osteoporotic_refractory"[^>]*checked', response.content.decode())  # the ticks survive


def test_absolute_contraindication_blocks_the_procedure_form(world):
    patient = _fresh_patient(world)
    client = world.client("coordinator_a")
    client.post(reverse("web:eligibility_new", kwargs={"patient_pk": patient.pk}),
                {"assessed_on": date.today().isoformat(), "indications": ["osteoporotic_refractory"], "absolute": ["coagulopathy"]})
    url = reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})
    html = client.get(url).content.decode()
    assert "Blocked:" in html and "Uncorrected coagulopathy" in html and 'name="performed_on"' not in html
    assert "Ask an investigator" in html
    fracture = patient.fractures.get()
    response = client.post(url, {"performed_on": date.today().isoformat(), "kind": "vertebroplasty", "approach": "bipedicular",
                                 "biopsy_taken": "no", f"treat_{fracture.pk}": "on"})
    assert response.status_code == 409 and not Procedure.objects.filter(patient=patient).exists()


def test_investigator_override_with_reason_unblocks_and_is_recorded(world):
    patient = _fresh_patient(world)
    assessment = eligibility_record(patient=patient, assessed_on=date.today(), indications=["osteoporotic_refractory"], absolute=["coagulopathy"], relative=[])
    investigator = world.client("investigator_a")
    url = reverse("web:eligibility_override", kwargs={"pk": assessment.pk})
    assert "Override with a reason" in investigator.get(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})).content.decode()
    too_short = investigator.post(url, {"version": assessment.version, "reason": "ok"})
    assert too_short.status_code == 200 and "at least 10 characters" in too_short.content.decode()
    empty = investigator.post(url, {"version": assessment.version, "reason": ""})
    assert "An override needs a reason" in empty.content.decode()
    response = investigator.post(url, {"version": assessment.version, "reason": "INR corrected to 1.1 this morning; haematology agrees."})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.overridden_by == world.users["investigator_a"] and "INR corrected" in assessment.override_reason
    row = assessment.history.order_by("-history_id").first()
    assert row.history_user == world.users["investigator_a"] and "eligibility override" in row.history_change_reason
    html = world.client("coordinator_a").get(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})).content.decode()
    assert 'name="performed_on"' in html


def test_coordinator_cannot_override(world):
    patient = _fresh_patient(world)
    assessment = eligibility_record(patient=patient, assessed_on=date.today(), indications=[], absolute=["infection"], relative=[])
    response = world.client("coordinator_a").post(reverse("web:eligibility_override", kwargs={"pk": assessment.pk}),
                                                  {"version": assessment.version, "reason": "I think it is fine, really."})
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.overridden_by is None


def test_a_second_override_of_an_overridden_checklist_changes_nothing(world):
    patient = _fresh_patient(world)
    assessment = eligibility_record(patient=patient, assessed_on=date.today() - timedelta(days=1), indications=[], absolute=["allergy"], relative=[])
    url = reverse("web:eligibility_override", kwargs={"pk": assessment.pk})
    stale = assessment.version
    assert world.client("investigator_a").post(url, {"version": stale, "reason": "Premedicated; allergist consulted."}).status_code == 302
    # The checklist no longer blocks: a second override has nothing left to do.
    assert world.client("site_admin_a").post(url, {"version": stale, "reason": "Another reason entirely."}).status_code == 302
    assessment.refresh_from_db()
    assert assessment.override_reason == "Premedicated; allergist consulted."
