"""Every range and vocabulary is enforced by the database itself, not only by Python.

Rows are written with ``bulk_create`` (which skips ``full_clean``) so that only the database can refuse
them, and each case names the constraint that must do the refusing. The same tests run on SQLite and,
in `make test`'s second pass, on PostgreSQL. A last test checks that every constraint of every registry
model has a case here.
"""

from datetime import UTC, date, datetime

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction

from vertebro.registry.models import (
    AnalgesicEntry,
    Complication,
    EligibilityAssessment,
    FollowUp,
    FormDraft,
    Fracture,
    ImportBatch,
    InstrumentResponse,
    InstrumentScore,
    Invitation,
    InvitationMessage,
    MissingData,
    PainAssessment,
    Patient,
    Procedure,
    Site,
    SiteMrnSystem,
    StaffMembership,
    TreatedLevel,
)

VOIDED_AT = datetime(2013, 2, 1, 9, 30, tzinfo=UTC)
#: A void names when, by whom and why, or none of them (issue 13).
VOID_CASES = [
    case
    for prefix, model in (("fracture", Fracture), ("procedure", Procedure), ("follow_up", FollowUp), ("pain", PainAssessment))
    for case in (
        (f"{prefix}_void_complete", model, {"voided_at": VOIDED_AT, "voided_by": "member"}, "voided without a reason"),
        (f"{prefix}_void_complete", model, {"voided_at": VOIDED_AT, "void_reason": "duplicate"}, "voided by nobody"),
        (f"{prefix}_void_complete", model, {"void_reason": "duplicate"}, "a reason on an active record"),
    )
]

# (constraint name, model, fields to override, what the case is)
CASES = [*VOID_CASES,
    ("patient_sex_known", Patient, {"sex": "X"}, "sex"),
    ("patient_age_in_range", Patient, {"age_at_index": 121}, "age"),
    ("patient_birth_date_or_age", Patient, {"age_at_index": None}, "no birth date nor age"),
    ("patient_study_id_not_blank", Patient, {"study_id": ""}, "blank study id"),
    ("fracture_level_known", Fracture, {"level": "T13"}, "level"),
    ("fracture_etiology_known", Fracture, {"etiology": "metastatic"}, "etiology"),
    ("fracture_pathologic_has_cause_and_basis", Fracture, {"etiology": "pathologic"}, "pathologic without cause"),
    ("fracture_pathologic_has_cause_and_basis", Fracture, {"etiology": "pathologic", "pathologic_cause": "metastasis"},
     "pathologic without basis"),
    ("fracture_only_pathologic_has_cause", Fracture, {"pathologic_cause": "metastasis", "pathologic_basis": "biopsy"},
     "osteoporotic with a cause"),
    ("fracture_cause_known", Fracture, {"etiology": "pathologic", "pathologic_cause": "virus", "pathologic_basis": "biopsy"},
     "unknown cause"),
    ("fracture_basis_known", Fracture, {"etiology": "pathologic", "pathologic_cause": "metastasis", "pathologic_basis": "rumour"},
     "unknown basis"),
    ("fracture_height_loss_in_range", Fracture, {"height_loss_pct": 101}, "height loss over 100"),
    ("fracture_height_loss_in_range", Fracture, {"height_loss_pct": -1}, "negative height loss"),
    ("procedure_kind_known", Procedure, {"kind": "cementoplasty"}, "kind"),
    ("procedure_approach_known", Procedure, {"approach": "frontal"}, "approach"),
    ("procedure_result_needs_biopsy", Procedure, {"biopsy_result": "malignant"}, "result without biopsy"),
    ("procedure_biopsy_result_known", Procedure, {"biopsy_taken": True, "biopsy_result": "unclear"}, "unknown result"),
    ("treated_level_cement_in_range", TreatedLevel, {"cement_ml": 0}, "no cement"),
    ("treated_level_cement_in_range", TreatedLevel, {"cement_ml": 20.5}, "too much cement"),
    ("treated_level_once_per_procedure", TreatedLevel, {"fracture": "treated"}, "fracture treated twice"),
    ("complication_kind_known", Complication, {"kind": "sneeze"}, "kind"),
    ("complication_leak_has_route", Complication, {"kind": "cement_leak"}, "leak without route"),
    ("complication_leak_has_route", Complication, {"kind": "infection", "leak_route": "disc"}, "route without leak"),
    ("complication_route_known", Complication, {"kind": "cement_leak", "leak_route": "nose"}, "unknown route"),
    ("follow_up_venue_known", FollowUp, {"venue": "pub"}, "venue"),
    ("follow_up_new_fracture_has_level", FollowUp, {"new_fracture": True}, "new fracture without level"),
    ("follow_up_new_fracture_has_level", FollowUp, {"new_fracture_level": "L3"}, "level without new fracture"),
    ("follow_up_level_known", FollowUp, {"new_fracture": True, "new_fracture_level": "Q1"}, "unknown level"),
    ("follow_up_analgesics_known", FollowUp, {"analgesics": "whisky"}, "analgesic"),
    ("pain_score_in_range", PainAssessment, {"score": 10.5}, "score over 10"),
    ("pain_score_in_range", PainAssessment, {"score": -0.5}, "negative score"),
    ("pain_timepoint_known", PainAssessment, {"timepoint": "2w"}, "timepoint"),
    ("pain_instrument_known", PainAssessment, {"instrument": "guess"}, "instrument"),
    ("pain_venue_known", PainAssessment, {"venue": "pub"}, "venue"),
    ("pain_one_score_per_timepoint", PainAssessment, {"timepoint": "post", "procedure": "scored"}, "second post score"),
    ("eligibility_override_has_reason", EligibilityAssessment, {"override_reason": ""}, "override without reason"),
    ("membership_role_known", StaffMembership, {"role": "janitor"}, "role"),
    ("membership_one_role_per_site", StaffMembership, {"user": "member"}, "second role at one site"),
    ("import_status_known", ImportBatch, {"status": "lost"}, "status"),
    ("form_draft_one_per_user_and_page", FormDraft, {}, "second draft of one page for one user"),
    ("pain_source_known", PainAssessment, {"source": "rumour"}, "source"),
    ("patient_consent_has_date_and_recorder", Patient, {"contact_consent_by": "member"}, "consent recorder without a date"),
    ("invitation_state_known", Invitation, {"state": "lost", "timepoint": "3m"}, "state"),
    ("invitation_window_in_order", Invitation, {"timepoint": "6m", "closes_on": date(2011, 1, 1)}, "window closing before it opens"),
    ("invitation_one_per_timepoint", Invitation, {}, "second invitation for one timepoint"),
    ("message_kind_known", InvitationMessage, {"kind": "spam", "token_hash": "b" * 64}, "kind"),
    ("message_channel_known", InvitationMessage, {"channel": "pigeon", "token_hash": "c" * 64}, "channel"),
    ("message_status_known", InvitationMessage, {"status": "lost", "token_hash": "d" * 64}, "status"),
    ("instrument_response_instrument_known", InstrumentResponse, {"instrument": "sf36", "timepoint": "1m"}, "instrument"),
    ("instrument_response_timepoint_known", InstrumentResponse, {"timepoint": "2w"}, "timepoint"),
    ("instrument_response_missing_reason_known", InstrumentResponse,
     {"timepoint": "3m", "assessed_on": None, "missing_reason": "bored"}, "missing reason"),
    ("instrument_response_source_known", InstrumentResponse, {"timepoint": "1m", "source": "rumour"}, "source"),
    ("instrument_response_dated_or_missing", InstrumentResponse, {"timepoint": "3m", "missing_reason": "declined"},
     "date and missing reason"),
    ("instrument_response_dated_or_missing", InstrumentResponse, {"timepoint": "3m", "assessed_on": None},
     "neither date nor missing reason"),
    ("instrument_response_once_per_timepoint", InstrumentResponse, {}, "second response at one timepoint"),
    ("instrument_score_measure_known", InstrumentScore, {"measure": "sf36"}, "measure"),
    ("instrument_score_once_per_measure", InstrumentScore, {}, "second score of one measure"),
    ("analgesic_entry_drug_known", AnalgesicEntry, {"position": 2, "drug": "whisky"}, "drug"),
    ("analgesic_entry_unit_known", AnalgesicEntry, {"position": 2, "unit": "spoon"}, "unit"),
    ("analgesic_entry_route_known", AnalgesicEntry, {"position": 2, "route": "nasal_spray"}, "route"),
    ("analgesic_entry_dose_not_negative", AnalgesicEntry, {"position": 2, "dose": -1}, "negative dose"),
    ("analgesic_entry_frequency_in_range", AnalgesicEntry, {"position": 2, "doses_per_day": 49}, "too often"),
    ("analgesic_entry_mme_not_negative", AnalgesicEntry, {"position": 2, "mme_per_day": -0.5}, "negative mme"),
    ("analgesic_entry_once_per_position", AnalgesicEntry, {}, "second entry at one position"),
    ("site_mrn_system_position_from_1", SiteMrnSystem, {"position": 0, "system": "http://b.example.org"}, "position 0"),
    ("site_mrn_system_not_blank", SiteMrnSystem, {"position": 2, "system": ""}, "blank system"),
    ("site_mrn_system_one_per_position", SiteMrnSystem, {"system": "http://b.example.org"}, "second system at one position"),
    ("site_mrn_system_once_per_site", SiteMrnSystem, {"position": 2}, "one system twice at a site"),
    ("missing_data_timepoint_known", MissingData, {"timepoint": "2w"}, "timepoint"),
    ("missing_data_not_unscheduled", MissingData, {"timepoint": "unscheduled"}, "unscheduled timepoint"),
    ("missing_data_reason_known", MissingData, {"reason": "lost", "timepoint": "3m"}, "reason"),
    ("missing_data_once_per_timepoint", MissingData, {}, "second code at one timepoint"),
]


@pytest.fixture
def world(procedure, patient, fracture, site, django_user_model):
    """Valid base rows for every model; a case overrides one or two fields to break one rule."""
    user = django_user_model.objects.create_user("member", password="x")
    StaffMembership.objects.create(user=user, site=site, role="coordinator")
    PainAssessment.objects.create(patient=patient, procedure=procedure, assessed_on=date(2012, 6, 16), score=3, timepoint="post")
    other_fracture = Fracture.objects.create(patient=patient, level="L2", etiology="osteoporotic")
    second_procedure = Procedure.objects.create(patient=patient, performed_on=date(2013, 1, 1))
    response = InstrumentResponse.objects.create(patient=patient, procedure=second_procedure, instrument="analgesics",
                                                 timepoint="baseline", assessed_on=date(2012, 12, 31))
    return {
        InstrumentResponse: {"patient": patient, "procedure": procedure, "instrument": "odi", "timepoint": "baseline",
                             "assessed_on": date(2012, 6, 14), "answers": {"odi_01": 2}},
        InstrumentScore: {"response": response, "measure": "mme_per_day", "value": 0.0},
        AnalgesicEntry: {"response": response, "position": 1, "drug": "morphine", "dose": 10, "unit": "mg", "route": "oral",
                         "doses_per_day": 2, "mme_per_day": 20.0},
        Patient: {"study_id": "VP9", "site": site, "sex": "F", "age_at_index": 70},
        Fracture: {"patient": patient, "level": "L1", "etiology": "osteoporotic"},
        Procedure: {"patient": patient, "performed_on": date(2012, 1, 1)},
        TreatedLevel: {"procedure": procedure, "fracture": other_fracture, "cement_ml": 3},
        Complication: {"procedure": procedure, "kind": "infection"},
        FollowUp: {"patient": patient, "procedure": procedure, "seen_on": date(2012, 7, 1), "venue": "primary_care"},
        PainAssessment: {"patient": patient, "procedure": second_procedure, "assessed_on": date(2013, 1, 2), "score": 3,
                         "timepoint": "post"},
        EligibilityAssessment: {"patient": patient, "assessed_on": date(2012, 6, 1), "overridden_by": user,
                                "override_reason": "ok"},
        StaffMembership: {"user": django_user_model.objects.create_user("newcomer", password="x"), "site": site,
                          "role": "analyst"},
        ImportBatch: {"file_name": "f.csv", "file_sha256": "0" * 64, "file_format": "csv"},
        FormDraft: {"user": user, "path": "/patients/new/", "data": {"study_id": ["VP1"]}},
        Invitation: {"patient": patient, "procedure": procedure, "timepoint": "1m", "opens_on": date(2012, 6, 30),
                     "closes_on": date(2012, 8, 14)},
        InvitationMessage: {"invitation": Invitation.objects.create(patient=patient, procedure=procedure, timepoint="12m",
                                                                    opens_on=date(2013, 3, 13), closes_on=date(2013, 12, 12)),
                            "kind": "invitation", "channel": "email", "token_hash": "a" * 64},
        SiteMrnSystem: {"site": site, "position": 1, "system": "http://hospital.example.org"},
        MissingData: {"patient": patient, "procedure": procedure, "timepoint": "1m", "reason": "declined"},
        "treated": fracture,
        "scored": procedure,
        "member": user,
    }


def resolve(value, world):
    return world[value] if isinstance(value, str) and value in ("treated", "scored", "member") else value


def insert(model, fields):
    with transaction.atomic():
        model.objects.bulk_create([model(**fields)])


@pytest.mark.parametrize(("constraint", "model", "override", "case"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_database_itself_refuses_the_bad_value(world, constraint, model, override, case):
    base = world[model]
    insert(model, base)  # the base row is valid: only the override breaks a rule
    fields = {**base, **{k: resolve(v, world) for k, v in override.items()}}
    if model is Patient:
        fields["study_id"] = override.get("study_id", "VP10")
    with pytest.raises(IntegrityError) as error:
        insert(model, fields)
    message = str(error.value)
    unique = isinstance(_constraint(constraint), models.UniqueConstraint)
    assert constraint in message or (unique and "UNIQUE constraint failed" in message), message


def test_database_refuses_second_patient_with_same_study_id(patient):
    with pytest.raises(IntegrityError):
        insert(Patient, {"study_id": patient.study_id, "site": patient.site, "sex": "M", "age_at_index": 60})


def test_database_accepts_two_unscheduled_scores(procedure):
    base = {"patient_id": procedure.patient_id, "procedure": procedure, "assessed_on": date(2012, 6, 16), "score": 3,
            "timepoint": "unscheduled"}
    insert(PainAssessment, base)
    insert(PainAssessment, base)
    assert PainAssessment.objects.filter(timepoint="unscheduled").count() == 2


def test_database_lets_a_voided_score_free_its_timepoint(procedure, django_user_model):
    user = django_user_model.objects.create_user("voider", password="x")
    base = {"patient_id": procedure.patient_id, "procedure": procedure, "assessed_on": date(2012, 6, 16), "score": 3,
            "timepoint": "post"}
    insert(PainAssessment, {**base, "voided_at": VOIDED_AT, "voided_by": user, "void_reason": "entered twice"})
    insert(PainAssessment, base)
    with pytest.raises(IntegrityError):
        insert(PainAssessment, base)


def _constraint(name):
    for model in apps.get_app_config("registry").get_models():
        for constraint in model._meta.constraints:
            if constraint.name == name:
                return constraint
    raise LookupError(name)


def test_every_constraint_of_the_registry_has_a_case():
    declared = {c.name for m in apps.get_app_config("registry").get_models() for c in m._meta.constraints}
    assert declared == {case[0] for case in CASES}
    assert Site._meta.get_field("code").unique  # site codes are unique by field, tested through the services
