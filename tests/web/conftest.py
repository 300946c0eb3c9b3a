"""Named users at two sites and a patient with a full record at each (healthchecks style).

Site A and site B each have a patient with a fracture, an eligibility checklist, a procedure 20 days
ago with two treated levels, a complication, baseline and post scores and a follow-up. The users:

========================  ===================================
``coordinator_a``         coordinator at A
``coordinator_b``         coordinator at B
``investigator_a``        investigator at A
``analyst_a``             analyst at A
``site_admin_a``          admin role at A (not a superuser)
``superuser``             Django superuser (admin everywhere)
========================  ===================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.test import Client

from vertebro.registry.models import Patient, Procedure
from vertebro.registry.services.accounts import membership_set
from vertebro.registry.services.capture import follow_up_with_score_record
from vertebro.registry.services.clinical import (
    complication_create,
    eligibility_record,
    fracture_create,
    pain_assessment_record,
    patient_create,
    procedure_create,
    site_create,
)

ROLES_AT_A = {
    "coordinator_a": "coordinator",
    "investigator_a": "investigator",
    "analyst_a": "analyst",
    "site_admin_a": "admin",
}
PASSWORD = "correct-horse-battery-9"
NAME_A, MRN_A, DOB_A = "Ada Quimby", "MRN-A-555", date(1941, 7, 19)
NAME_B, MRN_B, DOB_B = "Bertha Zoller", "MRN-B-777", date(1938, 2, 3)


@dataclass
class World:
    site_a: object
    site_b: object
    patient_a: Patient
    patient_b: Patient
    procedure_a: Procedure
    procedure_b: Procedure
    users: dict
    password: str = PASSWORD
    #: The protected identifiers of the two patients: (name, MRN, date of birth).
    phi_a: tuple = (NAME_A, MRN_A, DOB_A)
    phi_b: tuple = (NAME_B, MRN_B, DOB_B)

    def client(self, username: str | None) -> Client:
        """A test client logged in as ``username`` (anonymous for None)."""
        client = Client()
        if username is not None:
            client.force_login(self.users[username])
        return client

    def record(self, patient: Patient) -> dict:
        """The ids of every record under a patient (for URL building)."""
        procedure = patient.procedures.get()
        return {
            "patient": patient.pk,
            "fracture": patient.fractures.order_by("id").first().pk,
            "eligibility": patient.eligibility_assessments.get().pk,
            "procedure": procedure.pk,
            "complication": procedure.complications.get().pk,
            "pain": procedure.pain_assessments.get(timepoint="post").pk,
            "follow_up": procedure.follow_ups.get().pk,
        }


def _full_record(site, *, study_id: str, name: str, mrn: str, dob: date, user) -> tuple[Patient, Procedure]:  # noqa: ANN001
    patient = patient_create(study_id=study_id, site=site, sex="F", birth_date=dob, mrn=mrn, name=name, user=user)
    t12 = fracture_create(patient=patient, level="T12", etiology="osteoporotic", user=user)
    l1 = fracture_create(patient=patient, level="L1", etiology="osteoporotic", user=user)
    performed = date.today() - timedelta(days=20)
    eligibility_record(patient=patient, assessed_on=performed - timedelta(days=2), indications=["osteoporotic_refractory"], absolute=[], relative=[], user=user)
    procedure = procedure_create(patient=patient, performed_on=performed, treated=[(t12, 4.0), (l1, 3.5)], user=user)
    complication_create(procedure=procedure, kind="cement_leak", leak_route="disc", user=user)
    pain_assessment_record(procedure=procedure, assessed_on=performed, score=8, after_procedure=False, user=user)
    pain_assessment_record(procedure=procedure, assessed_on=performed + timedelta(days=1), score=3, user=user)
    follow_up_with_score_record(
        procedure=procedure,
        follow_up={"seen_on": performed + timedelta(days=7), "venue": "neurointerventional_clinic", "recurrent_pain": False,
                   "new_fracture_level": None, "further_procedure": False, "analgesics": "non_opioid"},
        score=2, score_timepoint="1w", user=user,
    )
    return patient, procedure


@pytest.fixture
def fast_passwords(settings):
    """Hashing with PBKDF2 costs ~0.3 s per user; the tests check who may log in, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, django_user_model, fast_passwords) -> World:
    site_a = site_create(code="SITE-A", name="Site A")
    site_b = site_create(code="SITE-B", name="Site B")
    users = {}
    for username, role in ROLES_AT_A.items():
        users[username] = django_user_model.objects.create_user(username, password=PASSWORD)
        membership_set(user=users[username], site=site_a, role=role)
    users["coordinator_b"] = django_user_model.objects.create_user("coordinator_b", password=PASSWORD)
    membership_set(user=users["coordinator_b"], site=site_b, role="coordinator")
    users["superuser"] = django_user_model.objects.create_superuser("superuser", password=PASSWORD)
    patient_a, procedure_a = _full_record(site_a, study_id="VPA0001", name=NAME_A, mrn=MRN_A, dob=DOB_A, user=users["coordinator_a"])
    patient_b, procedure_b = _full_record(site_b, study_id="VPB0001", name=NAME_B, mrn=MRN_B, dob=DOB_B, user=users["coordinator_b"])
    return World(site_a, site_b, patient_a, patient_b, procedure_a, procedure_b, users)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The dashboard and the worklist keep results in process memory under the registry's data
    version; rolled-back test transactions can hand the same ids (hence versions) to the next test,
    so each test starts without them."""
    from django.core.cache import cache

    from vertebro.registry.selectors.worklist import worklist_memo_clear

    cache.clear()
    worklist_memo_clear()
    yield
    cache.clear()
    worklist_memo_clear()


# --- browser tests that could not run are announced, not hidden --------------------------------

_BROWSER_SKIPS: list[str] = []


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001
    if report.skipped and "SKIPPED LOUDLY" in str(report.longrepr) and report.nodeid not in _BROWSER_SKIPS:
        _BROWSER_SKIPS.append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if _BROWSER_SKIPS:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            f"THE BROWSER TESTS DID NOT RUN ({len(_BROWSER_SKIPS)} skipped): Chromium is missing. "
            "Install it (apt-get install chromium) or set VERTEBRO_REQUIRE_BROWSER=1 to make this a failure.",
            red=True, bold=True,
        )
        terminalreporter.write_line(bar, red=True, bold=True)
