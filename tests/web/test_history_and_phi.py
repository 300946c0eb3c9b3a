"""History pages (who, what, when, old → new; read-only) and protected health information: never in
URLs, logs or analysts' pages, and never cached."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import ImportBatch, Patient
from vertebro.registry.selectors.history import ValueDisplay, patient_history


def test_history_shows_who_changed_what_old_to_new(world):
    patient = world.patient_a
    client = world.client("investigator_a")
    client.post(reverse("web:patient_edit", kwargs={"pk": patient.pk}), {
        "version": 1, "study_id": patient.study_id, "site": patient.site_id, "sex": "F",
        "birth_date": "1941-07-20", "mrn": world.phi_a[1], "name": world.phi_a[0]})
    entries = patient_history(patient=patient, display=ValueDisplay(deidentify=False))
    newest = entries[0]
    assert (newest.user, newest.action, newest.kind) == ("investigator_a", "changed", "patient")
    assert [(c.label, c.old, c.new) for c in newest.changes] == [("Date of birth", "1941-07-19", "1941-07-20")]
    kinds = {e.kind for e in entries}
    assert {"patient", "fracture", "eligibility", "procedure", "level", "complication", "follow-up", "pain"} <= kinds


def test_history_is_read_only(world):
    client = world.client("superuser")
    for url in (reverse("web:patient_history", kwargs={"pk": world.patient_a.pk}),
                reverse("web:record_history", kwargs={"kind": "patient", "pk": world.patient_a.pk})):
        assert client.post(url, {"anything": "x"}).status_code == 405
        assert "<form method=\"post\"" not in client.get(url).content.decode().split("<main")[1].replace('action="/logout/"', "")


def test_deleted_level_stays_in_the_history(world):
    procedure = world.procedure_a
    t12 = procedure.patient.fractures.get(level="T12")
    world.client("coordinator_a").post(reverse("web:procedure_edit", kwargs={"pk": procedure.pk}), {
        "version": 1, "performed_on": procedure.performed_on.isoformat(), "kind": "vertebroplasty", "approach": "bipedicular",
        "biopsy_taken": "no", f"treat_{t12.pk}": "on", f"cement_{t12.pk}": "4"})
    html = world.client("coordinator_a").get(reverse("web:patient_history", kwargs={"pk": world.patient_a.pk})).content.decode()
    assert "deleted" in html and "removed level L1" in html


def test_imported_records_name_their_import(world):
    batch = ImportBatch.objects.create(file_name="cohort.csv", file_sha256="0" * 64, file_format="csv", os_user="registrar", status="committed")
    Patient.objects.bulk_create([Patient(study_id="VPI0001", site=world.site_a, sex="M", age_at_index=70, import_batch=batch)])
    patient = Patient.objects.get(study_id="VPI0001")
    entries = patient_history(patient=patient, display=ValueDisplay(deidentify=False))
    assert [(e.action, e.user, e.reason) for e in entries] == [("imported", "registrar", f"import #{batch.pk} of cohort.csv")]


def test_analyst_history_hides_identifiers_and_dates(world):
    html = world.client("analyst_a").get(reverse("web:patient_history", kwargs={"pk": world.patient_a.pk})).content.decode()
    name, mrn, dob = world.phi_a
    assert name not in html and mrn not in html and dob.isoformat() not in html
    assert world.procedure_a.performed_on.isoformat() not in html
    assert "day 0" in html and "day -2" in html  # procedure and eligibility dates, relative


# --- PHI in URLs, logs and caches ----------------------------------------------------------------

URL_ATTRIBUTE = re.compile(r'(?:href|action|src)="([^"]*)"')


def _pages(world) -> list[str]:
    ids = world.record(world.patient_a)
    return [
        reverse("web:dashboard"), reverse("web:patients"), reverse("web:worklist"), reverse("web:patient_new"),
        reverse("web:patient", kwargs={"pk": ids["patient"]}), reverse("web:patient_edit", kwargs={"pk": ids["patient"]}),
        reverse("web:patient_history", kwargs={"pk": ids["patient"]}),
        reverse("web:procedure_edit", kwargs={"pk": ids["procedure"]}), reverse("web:pain_edit", kwargs={"pk": ids["pain"]}),
        reverse("web:follow_up_edit", kwargs={"pk": ids["follow_up"]}), reverse("web:fracture_edit", kwargs={"pk": ids["fracture"]}),
    ]


def _phi_values(world) -> list[str]:
    name, mrn, dob = world.phi_a
    return [name, *name.split(), mrn, dob.isoformat()]


def test_no_identifier_in_any_url_of_any_page(world):
    client = world.client("coordinator_a")
    redirect = client.post(reverse("web:patients"), {"q": world.phi_a[0]})
    urls = [redirect["Location"]]
    for page in _pages(world) + [redirect["Location"]]:
        response = client.get(page)
        assert response.status_code == 200, page
        urls += URL_ATTRIBUTE.findall(response.content.decode())
    assert len(urls) > 50
    for url in urls:
        for value in _phi_values(world):
            assert value not in url, (value, url)


def test_no_identifier_in_the_logs(world, caplog):
    caplog.set_level(logging.DEBUG)
    client = world.client("coordinator_a")
    client.post(reverse("web:patients"), {"q": world.phi_a[0]})
    for page in _pages(world):
        client.get(page)
    client.get(reverse("web:patient", kwargs={"pk": world.patient_b.pk}))  # a logged 404
    client.post(reverse("web:patient_new"), {"study_id": "", "site": world.site_a.pk, "sex": "F", "name": world.phi_a[0], "mrn": world.phi_a[1]})
    client.post(reverse("web:patient_new"), {"study_id": "VPA0001", "site": world.site_a.pk, "sex": "F", "birth_date": "1941-07-19",
                                            "name": world.phi_a[0], "mrn": world.phi_a[1]})
    assert caplog.records, "the flow should have logged something (at least the 404)"
    text = "\n".join(record.getMessage() for record in caplog.records)
    for value in _phi_values(world):
        assert value not in text


@pytest.mark.parametrize("role", ["coordinator_a", "analyst_a"])
def test_every_page_and_error_is_not_cached(world, role):
    client = world.client(role)
    for url in [*_pages(world), reverse("web:patient", kwargs={"pk": world.patient_b.pk})]:
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], (url, response.status_code)


def test_analyst_pages_never_show_identifiers(world):
    client = world.client("analyst_a")
    ids = world.record(world.patient_a)
    pages = [reverse("web:dashboard"), reverse("web:patients"), reverse("web:patient", kwargs={"pk": ids["patient"]}),
             reverse("web:patient_history", kwargs={"pk": ids["patient"]})]
    pages += [reverse("web:record_history", kwargs={"kind": k, "pk": ids[key]})
              for k, key in (("patient", "patient"), ("procedure", "procedure"), ("pain", "pain"), ("follow-up", "follow_up"))]
    for page in pages:
        html = client.get(page).content.decode()
        for value in _phi_values(world):
            assert value not in html, (page, value)


def test_a_role_that_sees_names_at_one_site_only_sees_them_there(world):
    from vertebro.registry.services.accounts import membership_set

    membership_set(user=world.users["analyst_a"], site=world.site_b, role="coordinator")
    html = world.client("analyst_a").get(reverse("web:patients")).content.decode()
    assert world.phi_b[0] in html and world.phi_a[0] not in html
    assert world.client("analyst_a").get(reverse("web:patient_edit", kwargs={"pk": world.patient_a.pk})).status_code == 403


def test_dates_for_analysts_count_from_the_index_procedure(world):
    display = ValueDisplay(deidentify=True, index_on=date(2024, 1, 10))
    assert display.date(date(2024, 1, 10)) == "day 0"
    assert display.date(date(2024, 1, 3)) == "day -7"
    assert display.date(date(2024, 1, 10) + timedelta(days=90)) == "day +90"
    assert ValueDisplay(deidentify=True).date(date(2024, 1, 1)) == "(date hidden)"


def test_app_pages_run_only_the_apps_own_script_files_and_load_nothing_foreign(world):
    response = world.client("coordinator_a").get(reverse("web:patient", kwargs={"pk": world.patient_a.pk}))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert scripts == ['<script src="/static/web/session.js" defer>']  # a file of the app, nothing written into the page
