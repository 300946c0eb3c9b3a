"""The interop commands as a user runs them: real processes on a file registry."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .flat_rows import flat_rows, rich_rows


@pytest.fixture
def vertebro(tmp_path):
    def run(*args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        extra_env = extra_env or {}
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.sqlite3'}", "COLUMNS": "200",
               "VERTEBRO_DEID_SECRET": "interop-cli-test-key-0123456789", **extra_env}
        return subprocess.run([sys.executable, "-m", "vertebro.cli", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    assert run("init").returncode == 0
    return run


def test_import_reports_counts_and_reimport_changes_nothing(vertebro, tmp_path):
    path = tmp_path / "cohort.csv"
    rich_rows().to_csv(path, index=False)
    first = vertebro("import", str(path))
    assert first.returncode == 0, first.stderr
    assert "Imported cohort.csv" in first.stdout and "pain assessments" in first.stdout
    second = vertebro("import", str(path), "--dry-run")
    assert second.returncode == 0 and "Dry run: no record was changed; only its audit entry" in second.stdout
    assert "│        18 │       0 │       0 │        18 │       0 │" in second.stdout


def test_a_bad_file_exits_1_with_the_problem_table_and_no_traceback(vertebro, tmp_path):
    frame = flat_rows(2)
    frame.loc[3, "vps"] = "=cmd|' /C calc'!A0"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = vertebro("import", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "nothing was imported" in result.stderr and "pain score must be a number from 0 to 10" in result.stderr
    report = (tmp_path / "bad.csv.errors.csv").read_text()
    assert "'=cmd" in report  # the error report is itself safe to open in a spreadsheet
    skipped = vertebro("import", str(path), "--skip-invalid")
    assert skipped.returncode == 0 and "Skipped rows (lines 5)" in skipped.stderr


def test_export_every_format_and_the_redcap_round_trip(vertebro, tmp_path):
    path = tmp_path / "cohort.csv"
    rich_rows().to_csv(path, index=False)
    assert vertebro("import", str(path)).returncode == 0
    for file_format in ("csv", "xlsx", "parquet", "dta", "sav", "fhir", "redcap"):
        out = tmp_path / "out" / f"registry.{file_format}"
        result = vertebro("export", "--format", file_format, "--out", str(out), "--deidentified")
        assert result.returncode == 0, result.stderr
        assert "de-identified" in result.stdout and out.exists()
    assert vertebro("redcap", "dictionary", "--out", str(tmp_path / "DD.csv")).returncode == 0
    assert vertebro("export", "--format", "redcap", "--out", str(tmp_path / "records.csv")).returncode == 0
    back = vertebro("import", "--format", "redcap", "--dictionary", str(tmp_path / "DD.csv"), str(tmp_path / "records.csv"))
    assert back.returncode == 0, back.stderr
    assert "│        18 │       0 │       0 │        18 │       0 │" in back.stdout


def test_usage_errors_are_one_sentence(vertebro, tmp_path):
    unknown = vertebro("export", "--format", "sas", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 1 and "unknown export format 'sas'" in unknown.stderr
    missing = vertebro("import", "--format", "redcap", str(tmp_path / "records.csv"))
    assert missing.returncode == 1 and "needs the project's data dictionary" in missing.stderr
    absent = vertebro("import", str(tmp_path / "nowhere.csv"))
    assert absent.returncode == 1 and "does not exist" in absent.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr + absent.stderr


def test_a_deidentified_export_needs_a_key_of_its_own_and_writes_nothing_without_one(vertebro, tmp_path):
    path = tmp_path / "cohort.csv"
    rich_rows().to_csv(path, index=False)
    assert vertebro("import", str(path)).returncode == 0
    out = tmp_path / "deid.csv"
    for key, says in (("", "no key is set"), ("short-key", "the key set is shorter than 16 characters"),
                      (" " * 15 + "x", "the key set is shorter than 16 characters")):
        result = vertebro("export", "--format", "csv", "--out", str(out), "--deidentified",
                          extra_env={"VERTEBRO_DEID_SECRET": key, "VERTEBRO_SECRET_KEY": ""})
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert says in result.stderr and "set VERTEBRO_DEID_SECRET" in result.stderr
        assert not out.exists()
    identified = vertebro("export", "--format", "csv", "--out", str(out), extra_env={"VERTEBRO_DEID_SECRET": "", "VERTEBRO_SECRET_KEY": ""})
    assert identified.returncode == 0  # an identified export has no hashes to key


def test_a_redcap_export_is_recognised_without_format(vertebro, tmp_path):
    path = tmp_path / "cohort.csv"
    rich_rows().to_csv(path, index=False)
    assert vertebro("import", str(path)).returncode == 0
    assert vertebro("redcap", "dictionary", "--out", str(tmp_path / "DD.csv")).returncode == 0
    assert vertebro("export", "--format", "redcap", "--out", str(tmp_path / "records.csv")).returncode == 0
    with_dictionary = vertebro("import", str(tmp_path / "records.csv"), "--dictionary", str(tmp_path / "DD.csv"))
    assert with_dictionary.returncode == 0, with_dictionary.stderr
    assert "│        18 │       0 │       0 │        18 │       0 │" in with_dictionary.stdout
    without = vertebro("import", str(tmp_path / "records.csv"))  # the header says REDCap: ask for the dictionary
    assert without.returncode == 1 and "needs the project's data dictionary: add --dictionary DD.csv" in without.stderr


def test_an_import_that_changes_values_names_them(vertebro, tmp_path):
    path = tmp_path / "cohort.csv"
    flat_rows(2).to_csv(path, index=False)
    assert vertebro("import", str(path)).returncode == 0
    changed = flat_rows(2)
    changed.loc[0, "vps"] = "9"
    changed.to_csv(path, index=False)
    result = vertebro("import", str(path))
    assert result.returncode == 0, result.stderr
    assert "Values changed (records): painassessment.score (1). Each change is in the record's history." in result.stdout
