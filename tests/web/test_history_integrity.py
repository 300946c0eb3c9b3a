"""Every history link leads to a history (imported records included), and the de-identified history
an analyst reads gives entry times as days from the index procedure and hides free text."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from vertebro.domain.privacy import FREE_TEXT_HIDDEN
from vertebro.interop.importer import import_flat_file
from vertebro.registry.models import Complication, EligibilityAssessment, Fracture, Patient, Procedure, TreatedLevel
from vertebro.registry.services.clinical import complication_create, eligibility_record
from vertebro.registry.services.records import record_update
from vertebro.synth import CohortParameters, site_codes, write_cohort

HISTORY_LINK = re.compile(r'href="(/history/[^"]+/\d+/)"')
ROLES = ("coordinator_a", "investigator_a", "analyst_a", "site_admin_a", "superuser", "coordinator_b")


@pytest.fixture
def demo_like(world, tmp_path):
    """The world plus an imported cohort at both sites (as `vertebro demo` builds it), a complication
    entered in the app on an imported procedure and an imported level edited in the app."""
    cohort = tmp_path / "cohort.csv"
    write_cohort(cohort, 12, 5, CohortParameters(sites=site_codes(2)))
    import_flat_file(path=cohort, os_user="registrar")
    imported = Procedure.objects.filter(import_batch__isnull=False).order_by("id")
    coordinator = world.users["coordinator_a"]
    on_imported = imported.filter(patient__site=world.site_a).first()
    complication_create(procedure=on_imported, kind="pulmonary_embolism", user=coordinator)
    level = TreatedLevel.objects.filter(procedure=on_imported).first()
    record_update(record=level, expected_version=level.version, changes={"cement_ml": 2.5}, user=coordinator)
    assert TreatedLevel.objects.filter(import_batch__isnull=False).count() > 10
    return world


def test_every_history_link_leads_to_a_history_for_every_role(demo_like):
    world = demo_like
    failures, followed = [], 0
    for username in ROLES:
        client = world.client(username)
        visible = Patient.objects.filter(site__memberships__user=world.users[username]) if username != "superuser" else Patient.objects.all()
        links = set()
        for patient in visible.distinct():
            for page in (reverse("web:patient", kwargs={"pk": patient.pk}), reverse("web:patient_history", kwargs={"pk": patient.pk})):
                response = client.get(page)
                assert response.status_code == 200, (username, page)
                links |= set(HISTORY_LINK.findall(response.content.decode()))
        kinds = {link.split("/")[2] for link in links}
        assert {"level", "procedure", "pain", "patient", "fracture", "complication"} <= kinds, (username, kinds)
        for link in sorted(links):
            followed += 1
            status = client.get(link).status_code
            if status != 200:
                failures.append(f"{username}: {link} answers {status}")
    assert followed > 300
    assert not failures, "\n".join(failures[:20]) + f"\n… {len(failures)} dead links"


def test_an_imported_level_and_a_complication_on_an_imported_procedure_have_their_history(demo_like):
    world = demo_like
    client = world.client("coordinator_a")
    level = TreatedLevel.objects.filter(import_batch__isnull=False, procedure__patient__site=world.site_a).order_by("id").first()
    html = client.get(reverse("web:record_history", kwargs={"kind": "level", "pk": level.pk})).content.decode()
    assert "imported" in html and "registrar" in html
    complication = Complication.objects.get(kind="pulmonary_embolism")
    html = client.get(reverse("web:record_history", kwargs={"kind": "complication", "pk": complication.pk})).content.decode()
    assert "created" in html and "coordinator_a" in html
    patient = complication.procedure.patient
    html = client.get(reverse("web:patient_history", kwargs={"pk": patient.pk})).content.decode()
    assert f"Complication #{complication.pk}" in html and "Cement (ml)" in html  # imported procedure's records too


# --- the analyst's history -----------------------------------------------------------------------

SECRETS = {
    "notes": "Dr Hartley phoned Ada Quimby on 2024-03-01",
    "override_reason": "Mrs Quimby insisted, seen at 12 Elm Street",
    "primary_site": "breast (Quimby family clinic)",
    "operator": "Dr Nathaniel Hartley",
}


@pytest.fixture
def free_text(world):
    """Free text typed in every free-text field of site A's records."""
    coordinator, investigator = world.users["coordinator_a"], world.users["investigator_a"]
    patient, procedure = world.patient_a, world.procedure_a
    complication = procedure.complications.get()
    record_update(record=complication, expected_version=1, changes={"notes": SECRETS["notes"]}, user=coordinator)
    record_update(record=procedure, expected_version=1, changes={"operator": SECRETS["operator"]}, user=coordinator)
    fracture = patient.fractures.order_by("id").first()
    record_update(record=fracture, expected_version=1, changes={"etiology": "pathologic", "pathologic_cause": "metastasis",
                                                                 "pathologic_basis": "imaging", "primary_site": SECRETS["primary_site"]}, user=coordinator)
    from vertebro.registry.services.clinical import eligibility_override

    blocked = eligibility_record(patient=patient, assessed_on=procedure.performed_on - timedelta(days=1), indications=["osteoporotic_refractory"],
                                 absolute=["coagulopathy"], relative=[], user=coordinator)
    eligibility_override(assessment=blocked, reason=SECRETS["override_reason"], user=investigator)
    return world


def _analyst_pages(world) -> list[str]:
    patient = world.patient_a
    procedure = world.procedure_a
    pages = [reverse("web:patient", kwargs={"pk": patient.pk}), reverse("web:patient_history", kwargs={"pk": patient.pk})]
    records = {"complication": procedure.complications.get().pk, "procedure": procedure.pk,
               "fracture": patient.fractures.order_by("id").first().pk,
               "eligibility": EligibilityAssessment.objects.filter(patient=patient).order_by("-id").first().pk}
    return pages + [reverse("web:record_history", kwargs={"kind": k, "pk": pk}) for k, pk in records.items()]


def test_the_analyst_never_reads_free_text_in_pages_or_history(free_text):
    world = free_text
    analyst, coordinator = world.client("analyst_a"), world.client("coordinator_a")
    history = analyst.get(reverse("web:patient_history", kwargs={"pk": world.patient_a.pk})).content.decode()
    assert FREE_TEXT_HIDDEN in history  # the reader learns that text changed, never what it says
    for page in _analyst_pages(world):
        html = analyst.get(page).content.decode()
        for field, text in SECRETS.items():
            for fragment in (text, *re.findall(r"[A-Z][a-z]{3,}", text)):
                assert fragment not in html, (page, field, fragment)
    seen = " ".join(coordinator.get(page).content.decode() for page in _analyst_pages(world))
    assert all(text in seen for text in SECRETS.values())  # identified readers see what was typed


def test_the_analyst_history_dates_entries_by_days_from_the_index_procedure(free_text):
    world = free_text
    html = world.client("analyst_a").get(reverse("web:patient_history", kwargs={"pk": world.patient_a.pk})).content.decode()
    today = timezone.localdate()
    when = re.findall(r'<td class="nowrap">([^<]*)</td>', html)
    assert when and set(when) <= {f"day +{(today - world.procedure_a.performed_on).days}"}  # all entered today, day +20
    assert not re.search(r"\b\d{1,2}:\d{2}\b", html)  # no time of day
    assert today.isoformat() not in html and not re.search(r"\b20\d\d-\d\d-\d\d\b", html)  # no date at all
    coordinator = world.client("coordinator_a").get(reverse("web:patient_history", kwargs={"pk": world.patient_a.pk})).content.decode()
    assert today.isoformat() in coordinator  # identified readers see when


def test_the_analyst_sees_which_import_created_a_record_not_the_file(world, tmp_path):
    cohort = tmp_path / "Quimby-private-list.csv"
    write_cohort(cohort, 3, 5, CohortParameters(sites=site_codes(1)))
    outcome = import_flat_file(path=cohort, os_user="registrar")
    patient = Patient.objects.filter(import_batch=outcome.batch).first()
    html = world.client("analyst_a").get(reverse("web:patient_history", kwargs={"pk": patient.pk})).content.decode()
    assert f"import #{outcome.batch.pk}" in html and "Quimby" not in html


def test_a_patient_without_a_procedure_hides_entry_dates_from_the_analyst(world):
    from vertebro.registry.services.clinical import patient_create

    patient = patient_create(study_id="VPA0099", site=world.site_a, sex="M", age_at_index=70, user=world.users["coordinator_a"])
    html = world.client("analyst_a").get(reverse("web:patient_history", kwargs={"pk": patient.pk})).content.decode()
    assert "(date hidden)" in html and date.today().isoformat() not in html
