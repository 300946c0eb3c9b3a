"""`vertebro analyze`: readable tables, or the JSON contract alone on stdout; failures are one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vertebro.stats.analysis import analyze
from vertebro.stats.validate import load_flat_csv

SMALL = Path(__file__).parent / "r" / "core_small.csv"


def without_warnings(result: dict) -> dict:
    return {key: value for key, value in result.items() if key != "warnings"}


def test_json_on_stdout_is_the_contract_and_nothing_else():
    # A real process: stdout must hold the JSON document only (progress goes to stderr).
    completed = subprocess.run(
        [sys.executable, "-c", "from vertebro.cli import main; main()", "analyze", "--csv", str(SMALL), "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document == json.loads(json.dumps(analyze(load_flat_csv(SMALL))))
    assert document["schema"] == "vertebro.analysis/1"


def test_tables_show_every_section_and_the_power_in_words(run_cli):
    code, out, err = run_cli("analyze", "--csv", str(SMALL))
    assert code == 0, err
    for heading in ("Cohort", "Pain by timepoint and group", "Osteoporotic minus pathologic improvement",
                    "Mixed model over all follow-ups", "Time to recurrent pain", "Completeness", "Warnings"):  # fmt: skip
        assert heading in out
    assert "Power at post: with 8 pathologic and 14 osteoporotic patients" in " ".join(out.split())
    assert all(figure in out for figure in ("1.44", "0.28", "2.60"))  # Welch difference at post, display-rounded
    assert "Log-rank p = 0.630" in out


def test_primary_option_moves_the_power_calculation(run_cli):
    code, out, _ = run_cli("analyze", "--csv", str(SMALL), "--primary", "1m", "--json")
    assert code == 0
    power = json.loads(out)["power"]
    assert power["timepoint"] == "1m" and power["n_pathologic"] == 8


def test_unknown_primary_is_refused_in_one_sentence(run_cli):
    code, out, err = run_cli("analyze", "--csv", str(SMALL), "--primary", "2y", "--json")
    assert code == 1 and out == ""
    assert "--primary '2y' is not a follow-up timepoint" in err and "Traceback" not in err


def test_malformed_csv_is_refused_with_line_and_rule(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    lines = SMALL.read_text().splitlines()
    lines[3] = lines[3].replace(",1w,7,2.0,", ",1w,7,11,")
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli("analyze", "--csv", str(bad), "--json")
    assert code == 1 and out == ""
    assert "line 4, column vps: '11' is not allowed — pain score must be a number from 0 to 10" in err


@pytest.mark.parametrize(("column", "value"), [("vps", "٣"), ("days", "１０"), ("age", "٧٢")])
def test_a_number_in_other_digits_than_ascii_is_refused_with_one_line(run_cli, tmp_path, column, value):
    header, first, *rest = SMALL.read_text().splitlines()
    cells = first.split(",")
    cells[header.split(",").index(column)] = value
    bad = tmp_path / "digits.csv"
    bad.write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    code, out, err = run_cli("analyze", "--csv", str(bad), "--json")
    assert code == 1 and out == ""
    assert f"line 2, column {column}: '{value}' is not allowed" in err and "written with the digits 0-9" in err


def test_missing_csv_file_is_one_clear_sentence(run_cli, tmp_path):
    code, _, err = run_cli("analyze", "--csv", str(tmp_path / "nope.csv"))
    assert code == 1 and "nope.csv does not exist" in err


def test_analysis_from_the_registry_matches_the_same_rows_from_csv(db, run_cli):
    from vertebro.registry.models import ImportBatch
    from vertebro.registry.services.flat_import import flat_frame_import

    batch = ImportBatch.objects.create(file_name="core_small.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=load_flat_csv(SMALL), import_batch=batch)
    code, out, err = run_cli("analyze", "--json")
    assert code == 0, err
    from_registry = json.loads(out)
    from_csv = json.loads(json.dumps(analyze(load_flat_csv(SMALL))))
    assert from_registry["cohort"] == from_csv["cohort"]
    assert from_registry["timepoints"] == from_csv["timepoints"]
    assert from_registry["recurrence"] == from_csv["recurrence"]
    assert from_registry["power"] == from_csv["power"]


def test_empty_registry_is_one_clear_sentence(db, run_cli):
    code, out, err = run_cli("analyze")
    assert code == 1 and out == ""
    assert "holds no pain assessments" in err and "--csv" in err


def rendered(renderable, width: int) -> list[str]:
    import io

    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


def test_comparison_table_puts_each_timepoint_on_one_line_of_100_columns():
    from vertebro.cli.analysis_cmds import comparison_table, interval

    timepoints = analyze(load_flat_csv(SMALL))["timepoints"]
    lines = rendered(comparison_table(timepoints), 100)
    for entry in timepoints:
        c = entry["comparison"]
        (row,) = [line for line in lines if line.startswith(f"{entry['timepoint']} ")]
        assert interval(c["difference"], c["ci_low"], c["ci_high"]) in row
        assert interval(c["ancova_difference"], c["ancova_ci_low"], c["ancova_ci_high"]) in row
    assert "Diff" in lines[1] and "MW" in lines[1]


def test_comparison_table_fits_100_columns_even_with_negative_intervals_everywhere():
    from vertebro.cli.analysis_cmds import comparison_table

    worst = {
        "difference": -1.14, "ci_low": -2.27, "ci_high": -0.56, "welch_p": 0.0004, "mann_whitney_p": 0.0004,
        "ancova_difference": -1.14, "ancova_ci_low": -2.27, "ancova_ci_high": -0.56, "ancova_p": 0.0004,
        "responders_30_difference": -0.18, "responders_30_ci_low": -0.52, "responders_30_ci_high": -0.12,
        "responders_30_fisher_p": 0.0004,
    }  # fmt: skip
    lines = rendered(comparison_table([{"timepoint": "12m", "comparison": worst}]), 100)
    (row,) = [line for line in lines if line.startswith("12m ")]
    assert "-1.14 (-2.27, -0.56)" in row and "-18 (-52, -12)" in row and row.rstrip().endswith("<0.001")


def _analyze_text(columns: str | None, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    with (tmp_path / "out.txt").open("w") as out:  # a file, as when output is saved or piped
        subprocess.run([sys.executable, "-m", "vertebro.cli", "analyze", "--csv", str(SMALL)], stdout=out, env=env, check=True, timeout=300)
    return (tmp_path / "out.txt").read_text()


def test_an_80_column_terminal_gets_every_cell_whole(tmp_path):
    text = _analyze_text("80", tmp_path)
    assert "…" not in text.replace("… and the tests of each group", "")
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Paired t" in text and "Improvement" in text


def test_output_to_a_file_is_not_cut_to_80_columns(tmp_path):
    text = _analyze_text(None, tmp_path)
    assert "…" not in text and "≥50%" in text
    assert max(len(line) for line in text.splitlines()) > 80
