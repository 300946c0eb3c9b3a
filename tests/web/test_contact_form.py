"""The staff form "Contact and consent" on the patient page: the service the CLI uses, the recorder is
the signed-in user, messages beside the field, history, and addresses only for roles that see identifiers."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from vertebro.registry.models import Patient


def url(patient: Patient) -> str:
    return reverse("web:patient_contact", kwargs={"pk": patient.pk})


def post(world, username: str, patient: Patient, **fields):  # noqa: ANN001
    data = {"version": Patient.objects.get(pk=patient.pk).version, "consent": "yes", "consent_on": "2026-01-05",
            "email": "", "mobile": "", **fields}
    return world.client(username).post(url(patient), data)


def test_coordinator_records_consent_and_is_the_recorder(world):
    response = post(world, "coordinator_a", world.patient_a, email="ada@example.org", mobile="+441632960123")
    assert response.status_code == 302 and response["Location"] == reverse("web:patient", kwargs={"pk": world.patient_a.pk})
    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert (patient.contact_consent_on, patient.contact_consent_by, patient.email, patient.mobile) == (
        date(2026, 1, 5), world.users["coordinator_a"], "ada@example.org", "+441632960123")
    page = world.client("coordinator_a").get(reverse("web:patient", kwargs={"pk": patient.pk})).content.decode()
    assert "ada@example.org" in page and "recorded by coordinator_a" in page and url(patient) in page
    history = patient.history.order_by("-history_id").first()
    assert (history.history_change_reason, history.email) == ("contact consent recorded", "ada@example.org")


def test_consent_without_a_date_or_an_address_is_refused_beside_the_field(world):
    response = post(world, "coordinator_a", world.patient_a, consent_on="")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter the day the patient agreed to be contacted." in body
    assert "Enter an email address or a mobile number: invitations need one." in body
    assert Patient.objects.get(pk=world.patient_a.pk).contact_consent_on is None  # nothing written


def test_a_mobile_number_not_in_international_form_is_refused(world):
    response = post(world, "coordinator_a", world.patient_a, mobile="01632 960123")
    assert response.status_code == 200 and "international form" in response.content.decode()
    assert Patient.objects.get(pk=world.patient_a.pk).mobile is None


def test_opt_out_and_withdrawn_consent_stop_contact(world):
    post(world, "coordinator_a", world.patient_a, email="ada@example.org")
    post(world, "coordinator_a", world.patient_a, email="ada@example.org", opted_out="on")
    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert patient.contact_opted_out_at is not None and not patient.may_be_contacted
    post(world, "coordinator_a", world.patient_a, consent="no", consent_on="", email="ada@example.org")
    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert (patient.contact_consent_on, patient.contact_consent_by) == (None, None)


def test_analyst_gets_no_form_and_never_sees_the_address(world):
    post(world, "coordinator_a", world.patient_a, email="ada@example.org")
    analyst = world.client("analyst_a")
    assert analyst.get(url(world.patient_a)).status_code == 403
    assert post(world, "analyst_a", world.patient_a, email="eve@example.org").status_code == 403
    page = analyst.get(reverse("web:patient", kwargs={"pk": world.patient_a.pk})).content.decode()
    assert "ada@example.org" not in page and url(world.patient_a) not in page
    assert Patient.objects.get(pk=world.patient_a.pk).email == "ada@example.org"


def test_coordinator_cannot_record_consent_at_another_site(world):
    assert post(world, "coordinator_b", world.patient_a, email="eve@example.org").status_code == 404
    assert Patient.objects.get(pk=world.patient_a.pk).email is None


def test_a_stale_form_is_refused_and_writes_nothing(world):
    stale = Patient.objects.get(pk=world.patient_a.pk).version
    post(world, "coordinator_a", world.patient_a, email="ada@example.org")
    response = world.client("coordinator_a").post(url(world.patient_a), {
        "version": stale, "consent": "yes", "consent_on": "2026-01-06", "email": "other@example.org", "mobile": ""})
    assert response.status_code == 200 and "Someone saved this patient" in response.content.decode()
    assert Patient.objects.get(pk=world.patient_a.pk).email == "ada@example.org"
