"""`vertebro synth` as a person runs it: a real subprocess, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from synth_helpers import read_flat


def run_vertebro(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from vertebro.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_synth_writes_the_file_and_prints_the_cohort(tmp_path):
    result = run_vertebro("synth", "--out", "cohort.csv", "--seed", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    people = read_flat(tmp_path / "cohort.csv").drop_duplicates("patient_id")
    assert len(people) == 300 and (people["sex"] == "F").sum() == 217
    assert "217 / 83" in result.stdout and "270 / 30" in result.stdout and "72.0 (22–95)" in result.stdout


def test_synth_with_patients_and_sites(tmp_path):
    result = run_vertebro("synth", "-n", "1000", "--sites", "2", "-o", str(tmp_path / "c.csv"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    people = read_flat(tmp_path / "c.csv").drop_duplicates("patient_id")
    assert len(people) == 1000 and set(people["site"]) == {"SITE-A", "SITE-B"}


def test_synth_same_seed_same_bytes_through_the_command(tmp_path):
    for name in ("a.csv", "b.csv"):
        assert run_vertebro("synth", "--out", name, "--seed", "99", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--patients", "0"), "--patients 0 is not allowed"),
        (("--patients", "-3"), "--patients -3 is not allowed"),
        (("--seed", "-1"), "--seed -1 is not allowed"),
        (("--sites", "0"), "--sites 0 is not allowed"),
    ],
)
def test_synth_refuses_bad_numbers_in_one_sentence(tmp_path, args, message):
    result = run_vertebro("synth", "--out", "c.csv", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: " + message)
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_synth_refuses_a_non_number_as_a_usage_error(tmp_path):
    result = run_vertebro("synth", "--out", "c.csv", "--patients", "many", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--patients" in result.stderr


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing-folder/c.csv", "does not exist"),
        ("a-file/c.csv", "is a file, not a folder"),
        (".", "is a folder"),
    ],
)
def test_synth_refuses_an_unwritable_out(tmp_path, out, message):
    (tmp_path / "a-file").write_text("not a folder")
    result = run_vertebro("synth", "--out", out, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_synth_reports_a_failed_write_without_traceback(tmp_path):
    # /proc accepts no new files: the folder exists, the write itself fails.
    result = run_vertebro("synth", "--out", "/proc/cohort.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write /proc/cohort.csv")
    assert "Traceback" not in result.stderr


def test_synth_help_explains_the_calibration(tmp_path):
    result = run_vertebro("synth", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for phrase in ("217 women", "--patients", "--seed", "--out", "byte for byte"):
        assert phrase in result.stdout
