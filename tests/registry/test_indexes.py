"""Indexes: every parent a page looks records up by has an index leading with it, and none is kept
that nothing reads (each costs every bulk import one more B-tree to fill). Read from the database's
own catalogue, so the same tests check SQLite and, in `make test`'s second pass, PostgreSQL."""

import pytest
from django.db import connection

from vertebro.registry.models import FollowUp, Fracture, PainAssessment, Patient, Procedure, TreatedLevel

CLINICAL = (Patient, Procedure, Fracture, TreatedLevel, FollowUp, PainAssessment)
#: Audit parents no page or selector finds records by: the import that created a row, and who voided it.
NOT_LOOKED_UP_BY = {"import_batch_id", "voided_by_id"}


def _leading_columns(model) -> set[str]:  # noqa: ANN001
    """First column of every index and unique constraint of ``model``'s table (primary key excluded)."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {c["columns"][0] for c in found.values() if (c["index"] or c["unique"]) and not c["primary_key"] and c["columns"]}


def _foreign_keys(model) -> list[str]:  # noqa: ANN001
    return [f.column for f in model._meta.concrete_fields if f.is_relation and f.column not in NOT_LOOKED_UP_BY]


@pytest.mark.django_db
@pytest.mark.parametrize("model", CLINICAL, ids=lambda m: m.__name__)
def test_every_parent_of_a_clinical_record_leads_an_index(model):
    leading = _leading_columns(model)
    assert [column for column in _foreign_keys(model) if column not in leading] == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", CLINICAL, ids=lambda m: m.__name__)
def test_no_index_is_kept_on_the_import_that_created_a_row(model):
    assert "import_batch_id" not in _leading_columns(model)


@pytest.mark.django_db
def test_treated_levels_of_a_procedure_are_found_through_the_unique_pair():
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TreatedLevel._meta.db_table)
    by_procedure = [c for c in found.values() if (c["index"] or c["unique"]) and c["columns"][:1] == ["procedure_id"]]
    assert [c["columns"] for c in by_procedure] == [["procedure_id", "fracture_id"]]
    assert by_procedure[0]["unique"]
