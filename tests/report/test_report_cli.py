"""`vertebro report`: writes DIR/report.html from a flat CSV or the registry; failures are one sentence."""

from __future__ import annotations

import pytest

from vertebro.report import REPORT_FILENAME


@pytest.fixture(scope="module")
def flat_csv(tmp_path_factory, flat_df):
    path = tmp_path_factory.mktemp("data") / "cohort.csv"
    flat_df.to_csv(path, index=False)
    return path


def test_report_from_csv_writes_one_self_contained_file_and_prints_its_path(run_cli, tmp_path, flat_csv):
    out_dir = tmp_path / "out" / "nested"
    code, out, err = run_cli("report", "--csv", str(flat_csv), "--out", str(out_dir))
    assert code == 0, err
    report = out_dir / REPORT_FILENAME
    assert out.strip() == str(report.resolve())
    assert [p.name for p in out_dir.iterdir()] == [REPORT_FILENAME]  # nothing beside it, no leftovers
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "http://" not in html and "https://" not in html
    assert "data from cohort.csv" in html
    assert html.count('src="data:image/svg+xml;base64,') == 4


def test_primary_timepoint_is_passed_to_the_analysis(run_cli, tmp_path, flat_csv):
    code, _, err = run_cli("report", "--csv", str(flat_csv), "--out", str(tmp_path), "--primary", "3m")
    assert code == 0, err
    html = (tmp_path / REPORT_FILENAME).read_text(encoding="utf-8")
    assert "primary timepoint: 3 months" in html
    assert "patients assessed at 3 months" in html


def test_unknown_primary_is_refused_in_one_sentence(run_cli, tmp_path, flat_csv):
    code, _, err = run_cli("report", "--csv", str(flat_csv), "--out", str(tmp_path), "--primary", "2y")
    assert code == 1
    assert "--primary '2y' is not a follow-up timepoint" in err and "Traceback" not in err
    assert not (tmp_path / REPORT_FILENAME).exists()


def test_out_that_is_a_file_is_refused_before_any_work(run_cli, tmp_path, flat_csv):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    code, _, err = run_cli("report", "--csv", str(flat_csv), "--out", str(blocker))
    assert code == 1
    assert "is a file, not a folder" in err and "Traceback" not in err


def test_unwritable_out_folder_is_one_clear_sentence(run_cli, tmp_path, flat_csv):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    code, _, err = run_cli("report", "--csv", str(flat_csv), "--out", str(blocker / "sub"))
    assert code == 1
    assert f"Cannot write the report to {blocker / 'sub'}" in err and "--out" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2  # one sentence (may wrap once)


def test_bad_csv_names_line_and_rule_and_writes_nothing(run_cli, tmp_path, flat_df):
    bad = flat_df.copy()
    bad.loc[4, "vps"] = 11
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    code, _, err = run_cli("report", "--csv", str(path), "--out", str(tmp_path / "out"))
    assert code != 0
    assert "bad.csv" in err and "line 6" in err and "vps" in err and "11" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_csv_file_is_one_clear_sentence(run_cli, tmp_path):
    code, _, err = run_cli("report", "--csv", str(tmp_path / "nope.csv"), "--out", str(tmp_path))
    assert code == 1
    assert "nope.csv does not exist" in err and "Traceback" not in err


def test_report_from_the_registry(db, run_cli, tmp_path, flat_df):
    from vertebro.registry.models import ImportBatch
    from vertebro.registry.services.flat_import import flat_frame_import
    from vertebro.stats.validate import validate_flat

    batch = ImportBatch.objects.create(file_name="synthetic.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=validate_flat(flat_df), import_batch=batch)
    code, out, err = run_cli("report", "--out", str(tmp_path))
    assert code == 0, err
    html = (tmp_path / REPORT_FILENAME).read_text(encoding="utf-8")
    assert "data from the registry" in html
    assert "<b>113</b> patients" in html and "Osteoporotic (n = 90)" in html


def test_empty_registry_is_one_clear_sentence(db, run_cli, tmp_path):
    code, _, err = run_cli("report", "--out", str(tmp_path))
    assert code == 1
    assert "holds no pain assessments" in err and "--csv" in err
    assert not (tmp_path / REPORT_FILENAME).exists()
