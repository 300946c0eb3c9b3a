"""Every create, update, delete and bulk write leaves history; nobody can edit or delete history."""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from vertebro.registry.models import PainAssessment, Patient
from vertebro.registry.services.bulk import records_bulk_create, records_bulk_update
from vertebro.registry.services.clinical import pain_assessment_record
from vertebro.registry.services.records import EditConflict, record_delete, record_update


def test_create_writes_a_history_row_crediting_the_user(site, django_user_model):
    from vertebro.registry.services.clinical import patient_create

    user = django_user_model.objects.create_user("coord", password="x")
    patient = patient_create(study_id="VP1", site=site, sex="M", age_at_index=70, user=user)
    (row,) = patient.history.all()
    assert row.history_type == "+" and row.history_user == user and row.age_at_index == 70


def test_update_keeps_old_and_new_values(patient):
    record_update(record=patient, expected_version=1, changes={"sex": "M"}, reason="typo at intake")
    newest, oldest = patient.history.order_by("-history_id")[:2]
    assert (oldest.sex, newest.sex) == ("F", "M")
    delta = newest.diff_against(oldest)
    assert [(c.field, c.old, c.new) for c in delta.changes if c.field == "sex"] == [("sex", "F", "M")]
    assert newest.history_change_reason == "typo at intake"


def test_stale_version_is_refused_and_nothing_is_overwritten(patient):
    record_update(record=patient, expected_version=1, changes={"sex": "M"})
    with pytest.raises(EditConflict) as conflict:
        record_update(record=patient, expected_version=1, changes={"sex": "F"})
    assert conflict.value.current.sex == "M" and conflict.value.attempted == {"sex": "F"}
    patient.refresh_from_db()
    assert patient.sex == "M" and patient.version == 2


def test_delete_leaves_a_deletion_row(procedure):
    assessment = pain_assessment_record(procedure=procedure, assessed_on=date(2012, 6, 16), score=3)
    pk = assessment.pk
    record_delete(record=assessment, reason="entered twice")
    assert PainAssessment.history.filter(id=pk, history_type="-").count() == 1


def test_bulk_create_and_update_write_one_history_row_per_record(site):
    patients = [Patient(study_id=f"VPB{i}", site=site, sex="F", age_at_index=60 + i) for i in range(5)]
    records_bulk_create(records=patients, reason="bulk load")
    assert Patient.history.filter(history_type="+").count() == 5
    stored = list(Patient.objects.filter(study_id__startswith="VPB"))
    for p in stored:
        p.age_at_index += 1
    records_bulk_update(records=stored, fields=["age_at_index"], reason="corrected ages")
    changed = Patient.history.filter(history_type="~")
    assert changed.count() == 5 and {h.history_change_reason for h in changed} == {"corrected ages"}
    assert sorted(Patient.objects.values_list("version", flat=True)) == [2] * 5


@pytest.mark.parametrize("statement", ["UPDATE {table} SET sex = 'M'", "DELETE FROM {table}"])
def test_history_cannot_be_edited_even_in_raw_sql(patient, statement):
    table = Patient.history.model._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement.format(table=table))
    assert patient.history.count() == 1
