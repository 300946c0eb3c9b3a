"""Import and export records are append-only like the history, on SQLite and PostgreSQL; on
PostgreSQL no audit table can be truncated; `vertebro db check` finds every missing, altered or
disabled audit trigger, and `vertebro db protect` puts them back."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from vertebro.registry.migrations._append_only import LOG_MESSAGE, MESSAGE
from vertebro.registry.models import ExportLog, ImportBatch, Patient
from vertebro.registry.selectors.audit_integrity import trigger_finding
from vertebro.registry.services.audit import audit_triggers_install
from vertebro.registry.services.imports import import_batch_finish, import_batch_start

IMPORTS, EXPORTS = ImportBatch._meta.db_table, ExportLog._meta.db_table


def _sql(statement: str, params=()) -> None:  # noqa: ANN001
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def _batch(**finish) -> ImportBatch:  # noqa: ANN003
    batch = import_batch_start(file_name="cohort.csv", file_sha256="0" * 64, file_format="csv", os_user="registrar")
    return import_batch_finish(batch=batch, **finish) if finish else batch


@pytest.fixture
def export_log(db) -> ExportLog:
    return ExportLog.objects.create(os_user="ana", file_format="csv", deidentified=True, destination="out.csv", rows=3)


@pytest.mark.parametrize("statement", [f"UPDATE {EXPORTS} SET rows = 0", f"UPDATE {EXPORTS} SET deidentified = NOT deidentified",
                                       f"DELETE FROM {EXPORTS}"])
def test_export_log_cannot_be_changed_or_deleted_in_sql(export_log, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        _sql(statement)
    assert list(ExportLog.objects.values_list("rows", "deidentified")) == [(3, True)]


def test_an_import_record_is_completed_once(db):
    batch = _batch()
    import_batch_finish(batch=batch, status="committed", rows_read=10, rows_created=10)
    for statement in (f"UPDATE {IMPORTS} SET rows_created = 0", f"UPDATE {IMPORTS} SET status = 'rejected'",
                      f"UPDATE {IMPORTS} SET status = 'running', finished_at = NULL"):
        with pytest.raises(DatabaseError, match="append-only"):
            _sql(statement)
    assert list(ImportBatch.objects.values_list("status", "rows_created")) == [("committed", 10)]
    with pytest.raises(ValueError, match="completed once"):
        import_batch_finish(batch=batch, status="failed")


FINISH = "status = 'committed', finished_at = '2030-01-01 00:00:00'"


@pytest.mark.parametrize("update", [
    f"{FINISH}, file_name = 'other.csv'", f"{FINISH}, os_user = 'mallory'", f"{FINISH}, file_sha256 = 'f'",
    f"{FINISH}, file_format = 'xlsx'", f"{FINISH}, started_at = '2000-01-01 00:00:00'", f"{FINISH}, user_id = %s",
    "rows_read = 5",  # still running: no completion, no change
    "status = 'committed'",  # completed without a finish time
])
def test_completing_an_import_record_cannot_rewrite_who_what_or_when(db, django_user_model, update):
    someone = django_user_model.objects.create_user("someone", password="x" * 12)
    batch = _batch()
    with pytest.raises(DatabaseError, match="append-only"):
        _sql(f"UPDATE {IMPORTS} SET {update} WHERE id = %s", [someone.pk, batch.pk] if "%s" in update else [batch.pk])
    batch.refresh_from_db()
    assert (batch.status, batch.file_name, batch.os_user, batch.rows_read) == ("running", "cohort.csv", "registrar", 0)


def test_import_records_cannot_be_deleted(db):
    _batch(status="committed")
    _batch()
    with pytest.raises(DatabaseError, match="append-only"):
        _sql(f"DELETE FROM {IMPORTS}")
    assert ImportBatch.objects.count() == 2


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", ["registry_historicalpatient", "registry_historicalsite", IMPORTS, EXPORTS])
def test_no_audit_table_can_be_truncated_on_postgres(patient, export_log, table):
    _batch(status="committed")
    before = Patient.history.count(), ImportBatch.objects.count(), ExportLog.objects.count()
    with pytest.raises(DatabaseError, match=f"({MESSAGE}|{LOG_MESSAGE.split(':')[0]})"):
        _sql(f"SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE {table} CASCADE")  # no deferred key check pending
    assert (Patient.history.count(), ImportBatch.objects.count(), ExportLog.objects.count()) == before


@pytest.mark.postgres_only
def test_audit_triggers_fire_even_in_replica_mode(patient):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # what pg_restore uses to skip triggers
        cursor.execute("DELETE FROM registry_historicalpatient")


# --- db check finds every missing, altered or disabled trigger; db protect restores them ----------


def _sabotage_statements() -> list[tuple[str | list[str], str]]:
    if connection.vendor == "sqlite":
        return [
            # One of a table's two triggers gone (was unnoticed: the table still had a trigger).
            ("DROP TRIGGER registry_historicalpatient_no_delete", "registry_historicalpatient_no_delete missing"),
            ("DROP TRIGGER registry_exportlog_no_update", "registry_exportlog_no_update missing"),
            (["DROP TRIGGER registry_importbatch_finish_once", "CREATE TRIGGER registry_importbatch_finish_once BEFORE UPDATE "
              "ON registry_importbatch WHEN 0 BEGIN SELECT 1; END"], "registry_importbatch_finish_once altered"),
        ]
    return [
        ("DROP TRIGGER registry_historicalpatient_no_truncate ON registry_historicalpatient", "registry_historicalpatient_no_truncate missing"),
        ("ALTER TABLE registry_exportlog DISABLE TRIGGER registry_exportlog_append_only", "registry_exportlog_append_only disabled"),
        ("ALTER TABLE registry_historicalfracture ENABLE TRIGGER registry_historicalfracture_append_only",
         "registry_historicalfracture_append_only not always enabled"),
        ("CREATE OR REPLACE FUNCTION vertebro_import_batch_finish_once() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
         "registry_importbatch_finish_once: function vertebro_import_batch_finish_once() altered"),
    ]


@pytest.mark.parametrize("index", range(4))
def test_db_check_finds_each_missing_altered_or_disabled_trigger_and_db_protect_restores_it(db, index):
    sabotage = _sabotage_statements()
    if index >= len(sabotage):
        pytest.skip(f"{connection.vendor} has {len(sabotage)} kinds of sabotage to try")
    assert trigger_finding().ok
    statements, found = sabotage[index]
    with connection.cursor() as cursor:
        for statement in [statements] if isinstance(statements, str) else statements:
            cursor.execute(statement)
    finding = trigger_finding()
    assert finding.problems == 1 and found in finding.detail and "vertebro db protect" in finding.detail
    audit_triggers_install()
    assert trigger_finding().ok
