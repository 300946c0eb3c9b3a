"""`vertebro analyze|report --source` restrict follow-up scores to a channel (baselines kept), and the
report compares the channels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vertebro.report.summaries import scores_by_channel
from vertebro.synth import write_cohort


@pytest.fixture
def cohort_with_sources(tmp_path):
    path = tmp_path / "cohort.csv"
    write_cohort(path, 300, 11)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(3)
    follow_up = frame["timepoint"] != "baseline"
    frame["source"] = np.where(follow_up & (rng.random(len(frame)) < 0.4), "patient", "staff")
    out = tmp_path / "with_sources.csv"
    frame.to_csv(out, index=False)
    return out, frame


def test_analyze_with_source_patient_uses_only_patient_reported_follow_ups(run_cli, cohort_with_sources):
    path, frame = cohort_with_sources
    code, out, err = run_cli("analyze", "--csv", str(path), "--source", "patient", "--json")
    assert code == 0, err
    result = json.loads(out)
    expected = frame[(frame["timepoint"] == "12m") & (frame["source"] == "patient") & frame["etiology"].isin(["osteoporotic", "pathologic"])]
    at_12m = next(tp for tp in result["timepoints"] if tp["timepoint"] == "12m")
    assert sum(g["n"] for g in at_12m["groups"].values()) == len(expected["patient_id"].unique())
    code_all, out_all, _ = run_cli("analyze", "--csv", str(path), "--json")
    all_12m = next(tp for tp in json.loads(out_all)["timepoints"] if tp["timepoint"] == "12m")
    assert sum(g["n"] for g in all_12m["groups"].values()) > sum(g["n"] for g in at_12m["groups"].values())


def test_an_unknown_source_is_refused_by_name(run_cli, cohort_with_sources):
    path, _ = cohort_with_sources
    code, out, err = run_cli("analyze", "--csv", str(path), "--source", "patients")
    assert code != 0 and "patients is not a source" in err + out and "staff, import, fhir, api, patient" in err + out


def test_a_file_without_sources_cannot_be_restricted(run_cli, tmp_path):
    path = tmp_path / "plain.csv"
    write_cohort(path, 60, 2)
    code, out, err = run_cli("analyze", "--csv", str(path), "--source", "staff")
    assert code != 0 and "no `source` column" in err + out


def test_scores_by_channel_counts_and_means(cohort_with_sources):
    _, frame = cohort_with_sources
    table = scores_by_channel(frame).set_index("timepoint")
    at = frame[(frame["timepoint"] == "3m") & frame["etiology"].isin(["osteoporotic", "pathologic"])]
    patient = at[at["source"] == "patient"]
    row = table.loc["3m"]
    assert (row["n"], row["by_patient"], row["by_staff"]) == (len(at), len(patient), len(at) - len(patient))
    assert row["patient_share"] == pytest.approx(len(patient) / len(at), abs=0, rel=1e-12)
    assert row["mean_patient"] == pytest.approx(patient["vps"].astype(float).mean(), rel=1e-12)
    assert "baseline" not in table.index
    assert scores_by_channel(frame.drop(columns="source")) is None


def test_the_report_has_the_channel_table(run_cli, cohort_with_sources, tmp_path):
    path, _ = cohort_with_sources
    code, out, err = run_cli("report", "--csv", str(path), "--out", str(tmp_path / "report"))
    assert code == 0, err
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="channels"' in html and "By the patient" in html
