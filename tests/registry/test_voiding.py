"""Voiding records entered in error (issue 13): who may, what it takes with it, what stops counting."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from vertebro.domain.errors import DomainError
from vertebro.interop.export import export_registry
from vertebro.registry.models import FollowUp, Fracture, PainAssessment, Procedure, StaffMembership
from vertebro.registry.selectors.dashboard import dashboard_for_sites
from vertebro.registry.selectors.flat import flat_assessments_df
from vertebro.registry.selectors.summary import registry_counts
from vertebro.registry.selectors.worklist import worklist_items
from vertebro.registry.services.clinical import follow_up_record, fracture_create, pain_assessment_record
from vertebro.registry.services.records import EditConflict
from vertebro.registry.services.voiding import (
    VoidNotAllowed,
    fracture_restore,
    fracture_void,
    pain_assessment_restore,
    pain_assessment_void,
    procedure_restore,
    procedure_void,
)

#: The fixture procedure is on 2012-06-15: its 1-month window is 2012-06-30 … 2012-08-14.
IN_THE_1M_WINDOW = date(2012, 7, 20)


@pytest.fixture
def staff(site, django_user_model):
    people = {}
    for role in ("coordinator", "investigator", "analyst"):
        user = django_user_model.objects.create_user(f"{role}_a", password="x")
        StaffMembership.objects.create(user=user, site=site, role=role)
        people[role] = user
    return people


@pytest.fixture
def score(procedure):
    return pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 1), score=3)


def test_coordinator_voids_a_score_with_its_reason_in_the_history(score, staff):
    voided = pain_assessment_void(record=score, user=staff["coordinator"], reason=" entered twice ", version=score.version)
    assert (voided.voided_by, voided.void_reason, voided.version) == (staff["coordinator"], "entered twice", score.version + 1)
    assert voided.voided_at is not None
    latest = voided.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (staff["coordinator"], "voided: entered twice")
    assert latest.void_reason == "entered twice"
    assert PainAssessment.objects.filter(pk=score.pk).exists()  # a soft delete: the row stays


def test_a_void_without_a_reason_is_refused_and_writes_nothing(score, staff):
    with pytest.raises(DomainError, match="needs a reason"):
        pain_assessment_void(record=score, user=staff["coordinator"], reason="   ", version=score.version)
    score.refresh_from_db()
    assert not score.is_voided and score.history.count() == 1


def test_analyst_cannot_void(score, staff):
    with pytest.raises(VoidNotAllowed, match="analyst"):
        pain_assessment_void(record=score, user=staff["analyst"], reason="wrong", version=score.version)
    score.refresh_from_db()
    assert not score.is_voided


def test_a_void_of_a_stale_version_is_refused(score, staff):
    with pytest.raises(EditConflict):
        pain_assessment_void(record=score, user=staff["coordinator"], reason="wrong", version=score.version - 1 or 99)
    score.refresh_from_db()
    assert not score.is_voided


def test_only_an_investigator_restores(score, staff):
    voided = pain_assessment_void(record=score, user=staff["coordinator"], reason="wrong patient", version=score.version)
    with pytest.raises(VoidNotAllowed, match="coordinator"):
        pain_assessment_restore(record=voided, user=staff["coordinator"], version=voided.version)
    restored = pain_assessment_restore(record=voided, user=staff["investigator"], version=voided.version, reason="it was right")
    assert not restored.is_voided and restored.void_reason == ""
    assert restored.history.latest().history_change_reason == "restored: it was right"


def test_a_fracture_cannot_be_voided_while_an_active_procedure_treats_it(procedure, fracture, staff):
    with pytest.raises(DomainError, match="void that procedure first"):
        fracture_void(record=fracture, user=staff["coordinator"], reason="duplicate", version=fracture.version)
    procedure_void(record=procedure, user=staff["coordinator"], reason="wrong patient", version=procedure.version)
    fracture.refresh_from_db()
    voided = fracture_void(record=fracture, user=staff["coordinator"], reason="duplicate", version=fracture.version)
    assert voided.is_voided
    assert fracture_restore(record=voided, user=staff["investigator"], version=voided.version).is_voided is False


def test_an_untreated_duplicate_fracture_is_voided(patient, fracture, staff):
    duplicate = fracture_create(patient=patient, level="L2", etiology="osteoporotic")
    fracture_void(record=duplicate, user=staff["coordinator"], reason="duplicate of L1", version=duplicate.version)
    assert list(Fracture.objects.active().values_list("level", flat=True)) == ["L1"]
    assert list(Fracture.objects.voided().values_list("level", flat=True)) == ["L2"]


def test_voiding_a_procedure_takes_its_scores_and_follow_ups_and_restoring_brings_back_exactly_those(procedure, staff):
    baseline = pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 14), score=8)
    follow_up = follow_up_record(procedure=procedure, seen_on=date(2012, 7, 1), venue="primary_care")
    month = pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 1), score=3, follow_up=follow_up)
    # Voided on its own before: stays voided when the procedure comes back.
    baseline = pain_assessment_void(record=baseline, user=staff["coordinator"], reason="stray score", version=baseline.version)

    voided = procedure_void(record=procedure, user=staff["coordinator"], reason="wrong patient", version=procedure.version)
    assert not PainAssessment.objects.active().filter(procedure=procedure).exists()
    assert not FollowUp.objects.active().filter(procedure=procedure).exists()
    month.refresh_from_db()
    assert (month.void_reason, month.voided_at) == ("wrong patient", voided.voided_at)

    procedure_restore(record=voided, user=staff["investigator"], version=voided.version)
    assert set(PainAssessment.objects.active().values_list("pk", flat=True)) == {month.pk}
    assert FollowUp.objects.active().filter(pk=follow_up.pk).exists()
    baseline.refresh_from_db()
    assert baseline.void_reason == "stray score"


def test_a_voided_score_frees_its_timepoint_and_a_restore_that_collides_is_refused(score, procedure, staff):
    voided = pain_assessment_void(record=score, user=staff["coordinator"], reason="wrong score", version=score.version)
    pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 2), score=4)
    with pytest.raises(ValidationError):
        pain_assessment_restore(record=voided, user=staff["investigator"], version=voided.version)
    voided.refresh_from_db()
    assert voided.is_voided


def test_a_voided_score_is_absent_from_analysis_export_worklist_dashboard_and_summary(score, procedure, staff, tmp_path):
    site_ids = [procedure.patient.site_id]
    before_frame = flat_assessments_df()
    before_dashboard = {(m.timepoint.code, m.group): m.n for m in dashboard_for_sites(site_ids=site_ids, today=date.today()).pain}
    assert "1m" not in {i.timepoint.code for i in worklist_items(site_ids=site_ids, today=IN_THE_1M_WINDOW)}
    assert (before_frame["timepoint"] == "1m").sum() == 1 and before_dashboard[("1m", "osteoporotic")] == 1

    pain_assessment_void(record=score, user=staff["coordinator"], reason="stray score", version=score.version)

    assert (flat_assessments_df()["timepoint"] == "1m").sum() == 0
    export = export_registry(file_format="csv", out=tmp_path / "flat.csv", user=staff["investigator"])
    assert export.rows == len(before_frame) - 1
    assert ",1m," not in (tmp_path / "flat.csv").read_text()
    assert "1m" in {i.timepoint.code for i in worklist_items(site_ids=site_ids, today=IN_THE_1M_WINDOW)}
    after_dashboard = {(m.timepoint.code, m.group): m.n for m in dashboard_for_sites(site_ids=site_ids, today=date.today()).pain}
    assert after_dashboard.get(("1m", "osteoporotic"), 0) == 0
    assert registry_counts()["pain assessments"] == 0


def test_a_voided_procedure_leaves_the_worklist(procedure, staff):
    site_ids = [procedure.patient.site_id]
    assert any(i.procedure_id == procedure.pk for i in worklist_items(site_ids=site_ids, today=IN_THE_1M_WINDOW))
    procedure_void(record=procedure, user=staff["coordinator"], reason="never happened", version=procedure.version)
    assert not any(i.procedure_id == procedure.pk for i in worklist_items(site_ids=site_ids, today=IN_THE_1M_WINDOW))
    assert not Procedure.objects.active().exists()
