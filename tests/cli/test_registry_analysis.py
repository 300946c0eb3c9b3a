"""`vertebro analyze` and `vertebro report` read the registry itself when no --csv is given: run as a
user runs them, in a fresh process where nothing has started Django beforehand."""

import json


def _registry_with_a_cohort(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    run_vertebro("synth", "--patients", "120", "--seed", "5", "--out", str(tmp_path / "cohort.csv"), check=True)
    run_vertebro("import", str(tmp_path / "cohort.csv"), check=True)


def test_analyze_without_csv_reads_the_registry(run_vertebro, tmp_path):
    _registry_with_a_cohort(run_vertebro, tmp_path)
    result = run_vertebro("analyze", "--json", check=True)
    analysis = json.loads(result.stdout)
    assert analysis["schema"] == "vertebro.analysis/1"
    assert analysis["cohort"]["patients"] == 120


def test_report_without_csv_reads_the_registry(run_vertebro, tmp_path):
    _registry_with_a_cohort(run_vertebro, tmp_path)
    run_vertebro("report", "--out", str(tmp_path / "report"), check=True)
    assert "120" in (tmp_path / "report" / "report.html").read_text()


def test_analyze_of_an_empty_registry_says_what_to_do(run_vertebro):
    run_vertebro("init", check=True)
    result = run_vertebro("analyze")
    assert result.returncode != 0
    assert "holds no pain assessments; add patients first or pass --csv FILE" in result.stderr + result.stdout
