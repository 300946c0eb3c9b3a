"""The bulk write path: creates audited by their import, updates with history, re-imports idempotent."""

from __future__ import annotations

import pandas as pd
import pytest
from django.db import IntegrityError

from vertebro.registry.models import (
    FollowUp,
    Fracture,
    ImportBatch,
    PainAssessment,
    Patient,
    Procedure,
    Site,
    TreatedLevel,
)
from vertebro.registry.selectors import flat_assessments_df
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import flat_rows

MODELS = (Patient, Fracture, Procedure, TreatedLevel, FollowUp, PainAssessment)


def _batch(name: str = "cohort.csv") -> ImportBatch:
    return ImportBatch.objects.create(file_name=name, file_sha256="0" * 64, file_format="csv", os_user="tester")


def _import(frame: pd.DataFrame, name: str = "cohort.csv"):
    return flat_frame_import(frame=frame, import_batch=_batch(name))


def _history_count() -> int:
    return sum(model.history.count() for model in MODELS)


def test_creates_every_record_audited_by_its_import_without_history_rows(db):
    counts = _import(flat_rows(3))
    batch = ImportBatch.objects.get()
    assert (counts.rows_read, counts.rows_created, counts.rows_updated, counts.rows_unchanged) == (12, 12, 0, 0)
    assert (batch.status, batch.rows_read, batch.rows_created) == ("committed", 12, 12)
    assert Site.objects.count() == 2
    assert Patient.objects.count() == 3 and Procedure.objects.count() == 3
    assert Fracture.objects.count() == 4  # L2, T12+L1, L2
    assert PainAssessment.objects.count() == 12
    assert FollowUp.objects.count() == 6  # 1m and 3m carry a venue and recurrent pain
    for model in MODELS:
        assert set(model.objects.values_list("import_batch_id", flat=True)) == {batch.pk}
    assert _history_count() == 0
    pathologic = Fracture.objects.get(etiology="pathologic")
    assert (pathologic.pathologic_cause, pathologic.pathologic_basis) == ("unspecified", "unspecified")
    assert sorted(TreatedLevel.objects.filter(procedure__patient__study_id="P001").values_list("cement_ml", flat=True)) == [3.0, 3.0]


def test_registry_gives_back_the_imported_flat_rows(db):
    frame = flat_rows(3)
    _import(frame)
    out = flat_assessments_df()
    assert out["patient_id"].tolist() == frame["patient_id"].tolist()
    assert out["timepoint"].tolist() == frame["timepoint"].tolist()
    assert out["vps"].tolist() == frame["vps"].astype(float).tolist()
    assert out["days"].tolist() == frame["days"].astype(int).tolist()
    assert out["levels"].tolist() == frame["levels"].tolist()
    assert out["cement_ml"].tolist() == frame["cement_ml"].astype(float).tolist()
    recurrent = [None if pd.isna(v) else int(v) for v in out["recurrent_pain"]]
    assert recurrent == [None if v == "" else int(v) for v in frame["recurrent_pain"]]


def test_reimporting_the_same_frame_changes_nothing(db):
    frame = flat_rows(4)
    _import(frame)
    before = {m.__name__: list(m.objects.order_by("id").values()) for m in MODELS}
    counts = _import(frame, "again.csv")
    assert (counts.rows_created, counts.rows_updated, counts.rows_unchanged) == (0, 0, 16)
    assert {m.__name__: list(m.objects.order_by("id").values()) for m in MODELS} == before
    assert _history_count() == 0


def test_changed_values_are_updated_with_old_and_new_state_in_history(db):
    frame = flat_rows(3)
    _import(frame)
    changed = frame.copy()
    changed.loc[1, "vps"] = "2"  # P000 post
    changed.loc[changed["patient_id"] == "P001", "cement_ml"] = "8"
    changed.loc[changed["patient_id"] == "P000", "sex"] = "F"
    counts = _import(changed, "fix.csv")
    batch = ImportBatch.objects.order_by("-id").first()
    assert counts.rows_updated == 8 and counts.rows_created == 0
    assert counts.records["pain assessments"] == (0, 1, 11)
    pain = PainAssessment.objects.get(patient__study_id="P000", timepoint="post")
    assert (pain.score, pain.version) == (2.0, 2)
    states = list(pain.history.order_by("history_id").values_list("history_type", "score", "history_change_reason"))
    assert states[0][:2] == ("+", 4.0)
    assert states[1][:2] == ("~", 2.0)
    assert f"import #{batch.pk}" in states[1][2] and "score: 4.0 → 2.0" in states[1][2]
    patient = Patient.objects.get(study_id="P000")
    assert [h.sex for h in patient.history.order_by("history_id")] == ["M", "F"]
    assert sorted(TreatedLevel.objects.filter(procedure__patient__study_id="P001").values_list("cement_ml", flat=True)) == [4.0, 4.0]
    # nothing else gained history
    assert _history_count() == 2 + 2 + 4


def test_blank_cells_keep_registry_values_and_never_erase(db):
    frame = flat_rows(2)
    frame["mrn"] = ["MRN-1"] * 4 + ["MRN-2"] * 4
    frame["pathologic_cause"] = ""
    frame.loc[frame["patient_id"] == "P001", "pathologic_cause"] = "myeloma"
    _import(frame)
    silent = flat_rows(2).assign(mrn="", pathologic_cause="")
    counts = _import(silent, "silent.csv")
    assert counts.rows_updated == 0
    assert Patient.objects.get(study_id="P000").mrn == "MRN-1"
    assert set(Fracture.objects.filter(etiology="pathologic").values_list("pathologic_cause", flat=True)) == {"myeloma"}


def test_records_created_after_a_bulk_import_get_fresh_ids(db):
    _import(flat_rows(2))
    site = Site.objects.first()
    patient = Patient.objects.create(study_id="LATER", site=site, sex="F", age_at_index=50)
    assert patient.pk > max(Patient.objects.exclude(pk=patient.pk).values_list("id", flat=True))
    _import(flat_rows(3), "more.csv")
    assert Patient.objects.count() == 4


def test_a_value_the_database_refuses_writes_nothing(db):
    _import(flat_rows(2))  # both sites exist: the rows below refer to known sites
    before = {m.__name__: m.objects.count() for m in MODELS}
    bad = flat_rows(3)
    bad.loc[10, "vps"] = "11"  # never validated: the CHECK constraint is the last guard
    with pytest.raises(IntegrityError):
        _import(bad, "bad.csv")
    assert {m.__name__: m.objects.count() for m in MODELS} == before


def test_recurrent_pain_without_a_venue_is_refused_by_name(db):
    from vertebro.domain.errors import DomainError

    frame = flat_rows(1)
    frame.loc[2, "venue"] = ""
    with pytest.raises(DomainError, match="recurrent_pain"):
        _import(frame)
    assert PainAssessment.objects.count() == 0


@pytest.mark.postgres_only
def test_postgres_bulk_load_rebuilds_every_key_and_index_exactly(db, monkeypatch):
    from django.db import connection

    from vertebro.registry.services.flat_import_writes import PostgresBulkLoad

    def schema() -> set[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid::regclass::text LIKE 'registry_%%'"
            )
            constraints = set(cursor.fetchall())
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'registry_%%'")
            return constraints | set(cursor.fetchall())

    before = schema()
    monkeypatch.setattr(PostgresBulkLoad, "THRESHOLD", 1)
    active = []
    enter = PostgresBulkLoad.__enter__
    monkeypatch.setattr(PostgresBulkLoad, "__enter__", lambda self: (active.append(self.active), enter(self))[1])
    counts = _import(flat_rows(5))
    assert active == [True] and counts.rows_created == 20
    assert schema() == before
    with pytest.raises(IntegrityError):  # the rebuilt unique index still refuses a second 1m score
        PainAssessment.objects.create(
            patient=Patient.objects.get(study_id="P000"), procedure=Procedure.objects.get(patient__study_id="P000"),
            assessed_on="2020-02-10", score=1, timepoint="1m",
        )


def test_hundreds_of_rows_staged_in_full_statements_and_a_remainder_all_arrive_intact(db):
    # 400 assessments and 200 follow-ups: SQLite stages them 124 and 166 rows per statement, so both
    # full statements and a shorter last one are used; PostgreSQL copies them in one stream.
    frame = flat_rows(100).assign(age="70")
    counts = _import(frame)
    assert counts.records["pain assessments"] == (400, 0, 0) and counts.records["follow-ups"] == (200, 0, 0)
    out = flat_assessments_df()
    assert out["patient_id"].tolist() == frame["patient_id"].tolist()
    assert out["vps"].tolist() == frame["vps"].astype(float).tolist()
    assert out["days"].tolist() == frame["days"].astype(int).tolist()
    assert out["venue"].fillna("").tolist() == frame["venue"].tolist()
    assert sorted(FollowUp.objects.values_list("patient__study_id", "seen_on", "venue", "recurrent_pain")) == sorted(
        (r.patient_id, pd.Timestamp(r.assessed_on).date(), r.venue, r.recurrent_pain == "1") for r in frame.itertuples() if r.venue
    )
    assert set(PainAssessment.objects.exclude(follow_up=None).values_list("follow_up__seen_on", flat=True)) == set(
        PainAssessment.objects.exclude(follow_up=None).values_list("assessed_on", flat=True)
    )


def test_reimporting_more_patients_than_sqlites_999_parameters_changes_nothing(db):
    frame = flat_rows(1100).assign(age="70")  # the lookups of stored records name 1,100 study ids and procedures at once
    _import(frame)
    counts = _import(frame, "again.csv")
    assert (counts.rows_created, counts.rows_updated, counts.rows_unchanged) == (0, 0, 4400)
    assert counts.records["patients"] == (0, 0, 1100) and counts.records["follow-ups"] == (0, 0, 2200)


def test_fetch_frame_looks_up_thousands_of_keys_in_one_query_and_none_on_an_empty_table(db, django_assert_num_queries):
    from vertebro.registry.services.flat_import_writes import fetch_frame

    keys = [f"P{i:03d}" for i in range(1500)]
    with django_assert_num_queries(1):  # "is the table empty?" and nothing more
        empty = fetch_frame(Patient.objects.all(), "study_id", keys, ["id", "study_id"])
    assert empty.empty and list(empty.columns) == ["id", "study_id"]
    _import(flat_rows(3))
    with django_assert_num_queries(2):
        found = fetch_frame(Patient.objects.all(), "study_id", keys, ["study_id", "sex"])
    assert found.sort_values("study_id").values.tolist() == [["P000", "M"], ["P001", "F"], ["P002", "F"]]


def test_created_assessments_and_follow_ups_take_ids_in_procedure_and_date_order(db):
    frame = flat_rows(6).sample(frac=1.0, random_state=3).reset_index(drop=True)  # a shuffled file
    _import(frame)
    for model, date_field in ((PainAssessment, "assessed_on"), (FollowUp, "seen_on")):
        keys = list(model.objects.order_by("id").values_list("procedure_id", date_field))
        assert keys == sorted(keys)


def test_a_changed_assessment_date_is_updated_with_old_and_new_value_in_history(db):
    frame = flat_rows(1)
    _import(frame)
    moved = frame.copy()
    moved.loc[2, ["days", "assessed_on"]] = ["31", "2020-02-10"]  # the 1m visit, a day later
    counts = _import(moved, "moved.csv")
    assert counts.records["pain assessments"] == (0, 1, 3) and counts.records["follow-ups"] == (0, 1, 1)
    pain = PainAssessment.objects.get(timepoint="1m")
    assert str(pain.assessed_on) == "2020-02-10" and str(pain.follow_up.seen_on) == "2020-02-10"
    reasons = list(pain.history.values_list("history_change_reason", flat=True))
    assert any("assessed_on: 2020-02-09 → 2020-02-10" in reason for reason in reasons)


def test_an_import_sets_the_sqlite_page_caches_back(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("page cache sizes are a SQLite connection setting")

    def caches() -> tuple[int, int]:
        with connection.cursor() as cursor:
            return tuple(cursor.execute(f"PRAGMA {schema}.cache_size").fetchone()[0] for schema in ("main", "temp"))

    before = caches()
    _import(flat_rows(2))
    assert caches() == before
