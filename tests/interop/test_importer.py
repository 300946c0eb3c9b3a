"""Importing files: all or nothing, skip-invalid, dry run, the audit record and the error report."""

from __future__ import annotations

import pytest

from vertebro.interop.importer import import_flat_file
from vertebro.interop.problems import ImportRejected
from vertebro.registry.models import ImportBatch, PainAssessment, Patient

from .flat_rows import flat_rows


def _write(tmp_path, frame, name="cohort.csv"):
    path = tmp_path / name
    if name.endswith(".xlsx"):
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_a_file_with_one_bad_row_writes_nothing_and_reports_it_beside_the_input(db, tmp_path):
    frame = flat_rows(3)
    frame.loc[6, "vps"] = "12"
    path = _write(tmp_path, frame)
    with pytest.raises(ImportRejected) as caught:
        import_flat_file(path=path, os_user="tester")
    assert PainAssessment.objects.count() == 0 and Patient.objects.count() == 0
    report = (tmp_path / "cohort.csv.errors.csv").read_text()
    assert report.splitlines() == ["file,line,column,value,rule", "cohort.csv,8,vps,12,pain score must be a number from 0 to 10"]
    assert caught.value.report == tmp_path / "cohort.csv.errors.csv"
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_read, batch.os_user, len(batch.file_sha256)) == ("rejected", 12, "tester", 64)
    assert batch.finished_at >= batch.started_at


def test_skip_invalid_imports_the_valid_rows_and_lists_the_others(db, tmp_path):
    frame = flat_rows(3)
    frame.loc[6, "vps"] = "12"
    outcome = import_flat_file(path=_write(tmp_path, frame), skip_invalid=True)
    assert outcome.skipped_lines == [8]
    assert PainAssessment.objects.count() == 11
    assert (outcome.batch.status, outcome.batch.rows_read, outcome.batch.rows_skipped, outcome.batch.rows_created) == ("committed", 12, 1, 11)


def test_a_dry_run_counts_but_writes_nothing_but_its_record(db, tmp_path):
    outcome = import_flat_file(path=_write(tmp_path, flat_rows(2)), dry_run=True)
    assert outcome.counts.rows_created == 8
    assert PainAssessment.objects.count() == 0
    assert list(ImportBatch.objects.values_list("status", "rows_created")) == [("dry_run", 8)]


def test_reimporting_a_file_changes_nothing_and_both_imports_are_recorded(db, tmp_path):
    path = _write(tmp_path, flat_rows(2))
    import_flat_file(path=path)
    again = import_flat_file(path=path)
    assert (again.counts.rows_created, again.counts.rows_updated, again.counts.rows_unchanged) == (0, 0, 8)
    batches = list(ImportBatch.objects.order_by("id").values_list("status", "file_sha256"))
    assert [b[0] for b in batches] == ["committed", "committed"] and batches[0][1] == batches[1][1]


def test_xlsx_reports_sheet_rows(db, tmp_path):
    frame = flat_rows(2)
    frame.loc[1, "sex"] = "?"
    with pytest.raises(ImportRejected) as caught:
        import_flat_file(path=_write(tmp_path, frame, "cohort.xlsx"))
    assert caught.value.problems[["line", "column"]].values.tolist()[0] == [3, "sex"]
    frame.loc[1, "sex"] = "M"
    outcome = import_flat_file(path=_write(tmp_path, frame, "cohort.xlsx"))
    assert outcome.counts.rows_created == 8


def test_irregular_csv_rows_are_reported_by_line(db, tmp_path):
    path = tmp_path / "ragged.csv"
    good = flat_rows(1).to_csv(index=False).splitlines()
    path.write_text("\n".join(good[:2] + ["P9,north,F"] + good[2:]) + "\n")
    with pytest.raises(ImportRejected) as caught:
        import_flat_file(path=path)
    first = caught.value.problems.iloc[0]
    assert (first["line"], first["column"]) == (3, "(row)") and "the header has 14" in first["rule"]


def test_a_dry_run_record_finishes_after_it_starts(db, tmp_path):
    outcome = import_flat_file(path=_write(tmp_path, flat_rows(2)), dry_run=True)
    assert outcome.batch.status == "dry_run" and outcome.batch.finished_at >= outcome.batch.started_at


def test_a_broken_header_does_not_suggest_skipping_rows(db, tmp_path):
    frame = flat_rows(2).drop(columns="vps")
    with pytest.raises(ImportRejected) as caught:
        import_flat_file(path=_write(tmp_path, frame), skip_invalid=True)
    assert "--skip-invalid" not in str(caught.value) and "Correct the header" in str(caught.value)
