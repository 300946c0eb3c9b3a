"""Every range and vocabulary is enforced by the database itself, not only by Python.

Rows are written with ``bulk_create`` (which skips ``full_clean``) so that only the database can refuse
them. The same tests run on SQLite and, in `make test`'s second pass, on PostgreSQL.
"""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from vertebro.registry.models import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    PainAssessment,
    Patient,
    Procedure,
    StaffMembership,
    TreatedLevel,
)


def refused_by_database(model, **fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.bulk_create([model(**fields)])


def accepted_by_database(model, **fields):
    with transaction.atomic():
        model.objects.bulk_create([model(**fields)])


@pytest.mark.parametrize(
    "fields",
    [
        {"sex": "X"},
        {"age_at_index": 121},
        {"birth_date": None, "age_at_index": None},
        {"study_id": ""},
    ],
    ids=["sex", "age", "no-birth-date-nor-age", "blank-study-id"],
)
def test_database_refuses_bad_patient(site, fields):
    base = {"study_id": "VP9", "site": site, "sex": "F", "age_at_index": 70}
    refused_by_database(Patient, **{**base, **fields})


def test_database_refuses_second_patient_with_same_study_id(patient):
    refused_by_database(Patient, study_id=patient.study_id, site=patient.site, sex="M", age_at_index=60)


@pytest.mark.parametrize(
    "fields",
    [
        {"level": "T13"},
        {"etiology": "metastatic"},
        {"etiology": "pathologic"},
        {"etiology": "pathologic", "pathologic_cause": "metastasis"},
        {"pathologic_cause": "metastasis", "pathologic_basis": "biopsy"},
        {"etiology": "pathologic", "pathologic_cause": "virus", "pathologic_basis": "biopsy"},
        {"etiology": "pathologic", "pathologic_cause": "metastasis", "pathologic_basis": "rumour"},
        {"height_loss_pct": 101},
        {"height_loss_pct": -1},
    ],
    ids=["level", "etiology", "pathologic-without-cause", "pathologic-without-basis", "osteoporotic-with-cause",
         "unknown-cause", "unknown-basis", "height-loss-high", "height-loss-negative"],
)
def test_database_refuses_bad_fracture(patient, fields):
    refused_by_database(Fracture, **{"patient": patient, "level": "L1", "etiology": "osteoporotic", **fields})


def test_database_accepts_pathologic_fracture_with_cause_and_basis(patient):
    accepted_by_database(Fracture, patient=patient, level="T8", etiology="pathologic",
                         pathologic_cause="myeloma", pathologic_basis="imaging_and_biopsy")


@pytest.mark.parametrize(
    "fields",
    [{"kind": "cementoplasty"}, {"approach": "frontal"}, {"biopsy_result": "malignant"},
     {"biopsy_taken": True, "biopsy_result": "unclear"}],
    ids=["kind", "approach", "result-without-biopsy", "unknown-result"],
)
def test_database_refuses_bad_procedure(patient, fields):
    refused_by_database(Procedure, **{"patient": patient, "performed_on": date(2012, 1, 1), **fields})


@pytest.mark.parametrize("cement_ml", [0, -1, 20.5])
def test_database_refuses_cement_volume_out_of_range(procedure, patient, cement_ml):
    other = Fracture.objects.create(patient=patient, level="L2", etiology="osteoporotic")
    refused_by_database(TreatedLevel, procedure=procedure, fracture=other, cement_ml=cement_ml)


def test_database_refuses_treating_a_fracture_twice_in_one_procedure(procedure, fracture):
    refused_by_database(TreatedLevel, procedure=procedure, fracture=fracture, cement_ml=2)


@pytest.mark.parametrize(
    "fields",
    [{"kind": "sneeze"}, {"kind": "cement_leak"}, {"kind": "infection", "leak_route": "disc"},
     {"kind": "cement_leak", "leak_route": "nose"}],
    ids=["kind", "leak-without-route", "route-without-leak", "unknown-route"],
)
def test_database_refuses_bad_complication(procedure, fields):
    refused_by_database(Complication, **{"procedure": procedure, **fields})


@pytest.mark.parametrize(
    "fields",
    [{"venue": "pub"}, {"new_fracture": True}, {"new_fracture_level": "L3"},
     {"new_fracture": True, "new_fracture_level": "Q1"}, {"analgesics": "whisky"}],
    ids=["venue", "new-fracture-without-level", "level-without-new-fracture", "unknown-level", "analgesic"],
)
def test_database_refuses_bad_follow_up(procedure, fields):
    base = {"patient_id": procedure.patient_id, "procedure": procedure, "seen_on": date(2012, 7, 1), "venue": "primary_care"}
    refused_by_database(FollowUp, **{**base, **fields})


@pytest.mark.parametrize(
    "fields",
    [{"score": 10.5}, {"score": -0.5}, {"timepoint": "2w"}, {"instrument": "guess"}, {"venue": "pub"}],
    ids=["score-high", "score-negative", "timepoint", "instrument", "venue"],
)
def test_database_refuses_bad_pain_assessment(procedure, fields):
    base = {"patient_id": procedure.patient_id, "procedure": procedure, "assessed_on": date(2012, 6, 16),
            "score": 3, "timepoint": "post"}
    refused_by_database(PainAssessment, **{**base, **fields})


def test_database_refuses_two_scores_at_one_timepoint_but_not_two_unscheduled(procedure):
    base = {"patient_id": procedure.patient_id, "procedure": procedure, "assessed_on": date(2012, 6, 16), "score": 3}
    accepted_by_database(PainAssessment, **base, timepoint="post")
    refused_by_database(PainAssessment, **base, timepoint="post")
    accepted_by_database(PainAssessment, **base, timepoint="unscheduled")
    accepted_by_database(PainAssessment, **base, timepoint="unscheduled")


def test_database_refuses_override_without_reason(patient, django_user_model):
    user = django_user_model.objects.create_user("inv", password="x")
    refused_by_database(EligibilityAssessment, patient=patient, assessed_on=date(2012, 6, 1),
                        absolute_contraindications=["coagulopathy"], overridden_by=user, override_reason="")


def test_database_refuses_unknown_role(site, django_user_model):
    user = django_user_model.objects.create_user("someone", password="x")
    refused_by_database(StaffMembership, user=user, site=site, role="janitor")
