"""The instruments through the command line: synth writes them, analyze and report read them (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

R_DIR = Path(__file__).resolve().parents[1] / "stats" / "r"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from vertebro.synth import write_cohort

    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(folder / "cohort.csv", 300, 2012, instruments_out=folder / "answers.csv")
    return folder


def test_synth_writes_answers_and_scores_and_names_them(run_cli, tmp_path):
    code, out, err = run_cli("synth", "--out", str(tmp_path / "c.csv"), "--instruments-out", str(tmp_path / "a.csv"),
                             "--instrument-scores-out", str(tmp_path / "s.csv"), "-n", "50")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "a.csv").read_text().startswith("patient_id,instrument,timepoint,days,instance,item,answer\n")
    assert (tmp_path / "s.csv").read_text().startswith("patient_id,instrument,measure,timepoint,days,score\n")
    assert "Instrument answers" in out and "Instrument scores" in out


def test_synth_refuses_an_instruments_file_in_a_missing_folder_before_writing_anything(run_cli, tmp_path):
    code, _, err = run_cli("synth", "--out", str(tmp_path / "c.csv"), "--instruments-out", str(tmp_path / "no" / "a.csv"))
    assert code == 1 and "does not exist" in err and not (tmp_path / "c.csv").exists()


def test_analyze_json_carries_one_section_per_measure(run_cli, cohort):
    code, out, err = run_cli("analyze", "--csv", str(cohort / "cohort.csv"), "--instruments", str(cohort / "answers.csv"), "--json")
    assert code == 0, err
    sections = json.loads(out)["instruments"]
    assert list(sections) == ["rdq", "odi", "eq5d5l_index_us", "eq5d5l_index_england", "eq5d5l_vas", "mme_per_day"]
    rdq_1m = next(t for t in sections["rdq"]["timepoints"] if t["timepoint"] == "1m")
    assert rdq_1m["groups"]["osteoporotic"]["improvement_mean"] > 3 and sections["rdq"]["mcid"] == 5
    assert sections["odi"]["mixed_model"]["n_patients"] > 200


def test_analyze_prints_instrument_tables(run_cli, cohort):
    code, out, err = run_cli("analyze", "--csv", str(cohort / "cohort.csv"), "--instruments", str(cohort / "answers.csv"))
    assert code == 0, err
    assert "RDQ-24 disability (0–24) — improvement by group" in out and "EQ VAS" in out


def test_a_broken_instruments_file_is_refused_with_its_line(run_cli, tmp_path, cohort):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,measure,timepoint,score\nVP000001,odi,baseline,140\n")
    code, _, err = run_cli("analyze", "--csv", str(cohort / "cohort.csv"), "--instruments", str(bad))
    assert code == 1 and "line 2, column score" in err and "from 0 to 100" in err


def test_report_shows_each_instrument_with_its_figure(run_cli, tmp_path, cohort):
    code, _, err = run_cli("report", "--csv", str(cohort / "cohort.csv"), "--instruments", str(cohort / "answers.csv"),
                           "--out", str(tmp_path))  # fmt: skip
    assert code == 0, err
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    for code in ("rdq", "odi", "eq5d5l_index_us", "eq5d5l_index_england", "eq5d5l_vas", "mme_per_day"):
        assert f'id="instrument-{code}"' in html
    assert html.count('src="data:image/svg+xml;base64,') == 4 + 6  # pain's four figures, one per measure
    assert "Licence: EuroQol Research Foundation" in html and "Mapi Research Trust" in html


def test_report_without_instruments_says_how_to_add_them(run_cli, tmp_path, cohort):
    code, _, err = run_cli("report", "--csv", str(cohort / "cohort.csv"), "--out", str(tmp_path))
    assert code == 0, err
    assert "No instrument scores were analysed" in (tmp_path / "report.html").read_text(encoding="utf-8")
