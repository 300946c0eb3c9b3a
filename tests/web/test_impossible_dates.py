"""Dates in an impossible order are refused beside the field, by the forms and by the services: a
procedure before the patient's birth, before the onset of a fracture it treats or before the
eligibility checklist; a fracture onset before birth; a score more than 30 days before its procedure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.domain.errors import DomainError
from vertebro.registry.models import Fracture, PainAssessment, Patient, Procedure
from vertebro.registry.services.clinical import (
    eligibility_record,
    fracture_create,
    pain_assessment_record,
    patient_create,
    procedure_create,
)

BORN = date(2000, 6, 1)


@pytest.fixture
def young(world):
    """A patient born 2000-06-01 at site A with an L3 fracture (onset 2021-03-01) and a checklist of
    2021-03-10."""
    patient = patient_create(study_id="VPA0700", site=world.site_a, sex="F", birth_date=BORN)
    fracture = fracture_create(patient=patient, level="L3", etiology="osteoporotic", onset_date=date(2021, 3, 1))
    eligibility_record(patient=patient, assessed_on=date(2021, 3, 10), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    return patient, fracture


def _procedure_data(fracture, performed_on: str, **more) -> dict:
    return {
        "performed_on": performed_on, "kind": "vertebroplasty", "approach": "bipedicular", "biopsy_taken": "no",
        f"treat_{fracture.pk}": "on", f"cement_{fracture.pk}": "3",
        "comp-TOTAL_FORMS": "0", "comp-INITIAL_FORMS": "0", "comp-MIN_NUM_FORMS": "0", "comp-MAX_NUM_FORMS": "10",
    } | more


def _errors(response, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors.get(field, [])


@pytest.mark.parametrize(
    "performed_on,message",
    [
        ("1995-01-01", "The procedure date lies before the patient's date of birth (2000-06-01)."),
        ("2021-02-20", "The procedure date lies before the onset of a fracture it treats (L3: onset 2021-03-01)."),
        ("2021-03-05", "The procedure date lies before the patient's first eligibility checklist (2021-03-10): a procedure follows its checklist."),
    ],
)
def test_a_procedure_in_an_impossible_order_is_refused_beside_its_date(world, young, performed_on, message):
    patient, fracture = young
    if performed_on < "2000":  # only the birth rule is broken: no onset, an early checklist
        Fracture.objects.filter(pk=fracture.pk).update(onset_date=None)
        eligibility_record(patient=patient, assessed_on=date(1990, 1, 1), indications=[], absolute=[], relative=[])
    url = reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})
    response = world.client("coordinator_a").post(url, _procedure_data(fracture, performed_on))
    assert _errors(response, "performed_on") == [message]
    assert not Procedure.objects.filter(patient=patient).exists()


def test_the_service_refuses_a_procedure_before_birth_whoever_calls_it(world, young):
    patient, fracture = young
    Fracture.objects.filter(pk=fracture.pk).update(onset_date=None)
    fracture.refresh_from_db()
    with pytest.raises(DomainError, match="before the patient's date of birth") as error:
        procedure_create(patient=patient, performed_on=date(2021, 3, 10) - timedelta(days=365 * 30), treated=[(fracture, 3.0)])
    assert error.value.field == "performed_on"


def test_a_procedure_on_the_day_of_its_checklist_and_onset_is_accepted(world, young):
    patient, fracture = young
    url = reverse("web:procedure_new", kwargs={"patient_pk": patient.pk})
    response = world.client("coordinator_a").post(url, _procedure_data(fracture, "2021-03-10"))
    assert response.status_code == 302


def test_a_fracture_onset_before_birth_is_refused(world, young):
    patient, _ = young
    url = reverse("web:fracture_new", kwargs={"patient_pk": patient.pk})
    response = world.client("coordinator_a").post(url, {"level": "T9", "etiology": "osteoporotic", "onset_date": "1999-12-31"})
    assert _errors(response, "onset_date") == ["The fracture onset lies before the patient's date of birth (2000-06-01)."]
    assert not patient.fractures.filter(level="T9").exists()


def test_editing_a_birth_date_to_after_a_procedure_is_refused(world):
    patient = world.patient_a
    url = reverse("web:patient_edit", kwargs={"pk": patient.pk})
    data = {"version": patient.version, "study_id": patient.study_id, "site": patient.site_id, "sex": patient.sex,
            "birth_date": date.today().isoformat(), "mrn": patient.mrn, "name": patient.name}
    response = world.client("coordinator_a").post(url, data)
    performed = world.procedure_a.performed_on
    assert _errors(response, "birth_date") == [f"The date of birth lies after the recorded procedure of {performed}."]
    patient.refresh_from_db()
    assert patient.birth_date != date.today()


def test_editing_an_onset_to_after_the_procedure_that_treated_it_is_refused(world):
    fracture = world.patient_a.fractures.get(level="T12")
    url = reverse("web:fracture_edit", kwargs={"pk": fracture.pk})
    onset = world.procedure_a.performed_on + timedelta(days=3)
    response = world.client("coordinator_a").post(url, {"version": fracture.version, "level": "T12", "etiology": "osteoporotic",
                                                       "onset_date": onset.isoformat(), "mri_oedema": ""})
    assert _errors(response, "onset_date") == [f"The onset lies after the procedure of {world.procedure_a.performed_on} that treated this fracture."]


def test_editing_a_procedure_date_to_before_birth_is_refused(world, young):
    patient, fracture = young
    procedure = procedure_create(patient=patient, performed_on=date(2021, 4, 30), treated=[(fracture, 3.0)])
    url = reverse("web:procedure_edit", kwargs={"pk": procedure.pk})
    response = world.client("coordinator_a").post(url, _procedure_data(fracture, "2000-01-01", version=procedure.version))
    assert _errors(response, "performed_on") == ["The procedure date lies before the patient's date of birth (2000-06-01)."]
    procedure.refresh_from_db()
    assert procedure.performed_on == date(2021, 4, 30)


def test_a_score_93_days_before_the_procedure_is_refused_not_kept_as_unscheduled(world):
    procedure = world.procedure_a
    day = procedure.performed_on - timedelta(days=93)
    response = world.client("coordinator_a").post(
        reverse("web:pain_new", kwargs={"procedure_pk": procedure.pk}), {"assessed_on": day.isoformat(), "score": "7", "instrument": "vps"}
    )
    message = _errors(response, "assessed_on")
    assert message == ["A score more than 30 days before its procedure belongs to no timepoint (the baseline window opens 30 days "
                       "before the procedure): check the date, or the procedure it belongs to."]
    assert not PainAssessment.objects.filter(procedure=procedure, assessed_on=day).exists()
    with pytest.raises(DomainError, match="more than 30 days before"):
        pain_assessment_record(procedure=procedure, assessed_on=day, score=7)


def test_a_score_31_days_before_is_refused_and_30_days_before_is_baseline(world, young):
    patient, fracture = young
    procedure = procedure_create(patient=patient, performed_on=date(2021, 4, 30), treated=[(fracture, 3.0)])
    with pytest.raises(DomainError, match="more than 30 days before"):
        pain_assessment_record(procedure=procedure, assessed_on=date(2021, 3, 30), score=7)
    assert pain_assessment_record(procedure=procedure, assessed_on=date(2021, 3, 31), score=7).timepoint == "baseline"


def test_the_patient_page_never_shows_a_negative_age(world, young):
    patient, _ = young
    page = world.client("coordinator_a").get(reverse("web:patient", kwargs={"pk": patient.pk})).content.decode()
    assert "−" not in page.split("<dt>Age</dt>")[1][:40] and "-" not in page.split("<dt>Age</dt>")[1][:20]
    assert Patient.objects.get(pk=patient.pk).birth_date == BORN
