from datetime import date

import pytest
from django.core.exceptions import ValidationError

from vertebro.domain.errors import DomainError
from vertebro.registry.services.clinical import (
    EligibilityBlocked,
    complication_create,
    eligibility_override,
    eligibility_record,
    follow_up_record,
    fracture_create,
    pain_assessment_record,
    procedure_create,
)


def test_timepoint_follows_from_the_windows(procedure):
    assert pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 10), score=8).timepoint == "baseline"
    assert pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 20), score=3).timepoint == "1m"


def test_procedure_day_score_must_say_before_or_after(procedure):
    with pytest.raises(DomainError, match="baseline or post"):
        pain_assessment_record(procedure=procedure, assessed_on=procedure.performed_on, score=8)
    post = pain_assessment_record(procedure=procedure, assessed_on=procedure.performed_on, score=2, after_procedure=True)
    assert post.timepoint == "post"


def test_stated_timepoint_outside_its_window_is_refused(procedure):
    with pytest.raises(DomainError, match="outside the 1w window"):
        pain_assessment_record(procedure=procedure, assessed_on=date(2012, 8, 1), score=3, timepoint="1w")


def test_second_score_at_a_timepoint_is_refused_with_advice(procedure):
    pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 16), score=3)
    with pytest.raises(DomainError, match="edit it instead"):
        pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 17), score=2)


def test_vas_in_millimetres_is_stored_on_the_ten_point_scale(procedure):
    assessment = pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 16), score=73, instrument="vas100")
    assert assessment.score == pytest.approx(7.3)


def test_bad_score_names_field_value_and_rule(procedure):
    with pytest.raises(DomainError) as error:
        pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 16), score=11)
    assert (error.value.field, error.value.value) == ("score", 11)


def test_absolute_contraindication_blocks_procedure_until_overridden(patient, fracture, django_user_model):
    investigator = django_user_model.objects.create_user("inv", password="x")
    checklist = eligibility_record(patient=patient, assessed_on=date(2012, 6, 1), indications=["osteoporotic_refractory"],
                                   absolute=["coagulopathy"], relative=[])
    with pytest.raises(EligibilityBlocked, match="override"):
        procedure_create(patient=patient, performed_on=date(2012, 6, 15), treated=[(fracture, 3)])
    with pytest.raises(DomainError, match="reason"):
        eligibility_override(assessment=checklist, reason="  ", user=investigator)
    eligibility_override(assessment=checklist, reason="INR corrected to 1.2 on the day", user=investigator)
    assert procedure_create(patient=patient, performed_on=date(2012, 6, 15), treated=[(fracture, 3)]).pk
    assert checklist.history.first().history_change_reason.startswith("eligibility override")


def test_procedure_cannot_treat_another_patients_fracture(patient, site):
    from vertebro.registry.services.clinical import patient_create

    other = patient_create(study_id="VP2", site=site, sex="M", age_at_index=60)
    foreign = fracture_create(patient=other, level="T8", etiology="osteoporotic")
    with pytest.raises(DomainError, match="own patient"):
        procedure_create(patient=patient, performed_on=date(2012, 6, 15), treated=[(foreign, 3)])


def test_pathologic_fracture_without_basis_is_refused(patient):
    with pytest.raises(DomainError, match="basis"):
        fracture_create(patient=patient, level="T9", etiology="pathologic", pathologic_cause="metastasis")


def test_cement_leak_needs_a_route(procedure):
    with pytest.raises(DomainError, match="route"):
        complication_create(procedure=procedure, kind="cement_leak")
    leak = complication_create(procedure=procedure, kind="Cement leakage", leak_route="Disc")
    assert (leak.kind, leak.leak_route) == ("cement_leak", "disc")


def test_follow_up_before_the_procedure_is_refused(procedure):
    with pytest.raises(DomainError, match="after its procedure"):
        follow_up_record(procedure=procedure, seen_on=date(2012, 1, 1), venue="primary_care")
    visit = follow_up_record(procedure=procedure, seen_on=date(2012, 9, 1), venue="pain clinic", recurrent_pain=True,
                             new_fracture_level="l2")
    assert (visit.venue, visit.new_fracture, visit.new_fracture_level) == ("pain_clinic", True, "L2")


def test_model_validation_reads_as_the_rule(patient):
    from vertebro.registry.models import Procedure

    with pytest.raises(ValidationError) as error:
        Procedure(patient=patient, performed_on=date(2012, 1, 1), biopsy_result="malignant").full_clean()
    assert "a biopsy result needs a biopsy" in str(error.value)
