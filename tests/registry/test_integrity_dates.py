"""`vertebro db check` finds records already stored with dates in an impossible order (written before
the rules, or by hand): each is put in the registry behind the services' back with ``update()``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vertebro.registry.models import FollowUp, Fracture, PainAssessment, Patient, Procedure
from vertebro.registry.selectors.integrity import registry_integrity_findings
from vertebro.registry.services.capture import follow_up_with_score_record
from vertebro.registry.services.clinical import (
    eligibility_record,
    fracture_create,
    pain_assessment_record,
    patient_create,
    procedure_create,
    site_create,
)

PERFORMED = date(2020, 5, 10)


@pytest.fixture
def clean(db):
    site = site_create(code="SITE-A", name="Site A")
    patient = patient_create(study_id="VPI0001", site=site, sex="F", birth_date=date(1950, 1, 1))
    fracture = fracture_create(patient=patient, level="L1", etiology="osteoporotic", onset_date=date(2020, 5, 1))
    eligibility_record(patient=patient, assessed_on=date(2020, 5, 5), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    procedure = procedure_create(patient=patient, performed_on=PERFORMED, treated=[(fracture, 3.0)])
    pain_assessment_record(procedure=procedure, assessed_on=PERFORMED - timedelta(days=2), score=8)
    follow_up_with_score_record(procedure=procedure, follow_up={"seen_on": PERFORMED + timedelta(days=30), "venue": "primary_care"}, score=3)
    return patient, fracture, procedure


def _date_problems() -> dict[str, int]:
    return {f.check: f.problems for f in registry_integrity_findings() if f.check.startswith("no record where")}


def test_a_registry_in_order_has_no_date_problem(clean):
    problems = _date_problems()
    assert len(problems) == 6 and set(problems.values()) == {0}


@pytest.mark.parametrize(
    "corrupt,check",
    [
        (lambda p, f, pr: Patient.objects.filter(pk=p.pk).update(birth_date=PERFORMED + timedelta(days=1)),
         "no record where the procedure date lies before the patient's date of birth"),
        (lambda p, f, pr: Fracture.objects.filter(pk=f.pk).update(onset_date=date(1949, 12, 31)),
         "no record where the fracture onset lies before the patient's date of birth"),
        (lambda p, f, pr: Fracture.objects.filter(pk=f.pk).update(onset_date=PERFORMED + timedelta(days=1)),
         "no record where the procedure date lies before the onset of a fracture it treats (treated level ids)"),
        (lambda p, f, pr: p.eligibility_assessments.update(assessed_on=PERFORMED + timedelta(days=1)),
         "no record where the procedure date lies before the patient's first eligibility checklist"),
        (lambda p, f, pr: PainAssessment.objects.filter(procedure=pr, timepoint="baseline").update(
            assessed_on=PERFORMED - timedelta(days=93), timepoint="unscheduled"),
         "no record where pain scores lie from 30 days before to 3650 days after their procedure"),
        (lambda p, f, pr: FollowUp.objects.filter(procedure=pr).update(seen_on=PERFORMED - timedelta(days=1)),
         "no record where follow-ups come after their procedure"),
    ],
)
def test_db_check_finds_each_impossible_date_already_stored(clean, corrupt, check):
    corrupt(*clean)
    problems = _date_problems()
    assert problems[check] == 1, problems
    finding = next(f for f in registry_integrity_findings() if f.check == check)
    assert finding.severity == "error" and "ids [" in finding.detail
