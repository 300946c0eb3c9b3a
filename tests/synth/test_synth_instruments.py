"""The synthetic cohort's instruments: sourced calibration, tied to pain, scored by the definitions (issue 10)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from vertebro.domain.instruments import INSTRUMENTS
from vertebro.stats.instrument_scores import load_instrument_csv
from vertebro.synth import write_cohort


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("instruments")
    write_cohort(folder / "cohort.csv", 300, 2012, instruments_out=folder / "answers.csv",
                 instrument_scores_out=folder / "scores.csv")  # fmt: skip
    return folder


def test_same_seed_same_bytes_and_the_pain_file_is_the_same_with_or_without_instruments(files, tmp_path):
    write_cohort(tmp_path / "cohort.csv", 300, 2012, instruments_out=tmp_path / "answers.csv")
    write_cohort(tmp_path / "plain.csv", 300, 2012)
    assert (tmp_path / "answers.csv").read_bytes() == (files / "answers.csv").read_bytes()
    assert (tmp_path / "cohort.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes() == (files / "cohort.csv").read_bytes()
    write_cohort(tmp_path / "other.csv", 300, 7, instruments_out=tmp_path / "other_answers.csv")
    assert (tmp_path / "other_answers.csv").read_bytes() != (files / "answers.csv").read_bytes()


def test_the_score_file_is_what_the_definitions_make_of_the_answer_file(files):
    key = ["patient_id", "measure", "timepoint"]
    from_answers = load_instrument_csv(files / "answers.csv").sort_values(key).reset_index(drop=True)
    written = load_instrument_csv(files / "scores.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(from_answers.drop(columns="score"), written.drop(columns="score"))
    np.testing.assert_allclose(from_answers["score"], written["score"], rtol=0, atol=1e-12)
    assert set(written["measure"]) == {m.code for i in INSTRUMENTS.values() for m in i.measures}


def test_baselines_land_on_their_sourced_targets(files):
    scores = pd.read_csv(files / "scores.csv")
    baseline = scores[scores["timepoint"] == "baseline"].groupby("measure")["score"]
    means = baseline.mean()
    assert 15.5 <= means["rdq"] <= 19.0  # INVEST / Buchbinder 17.1-17.3 (Staples 2011)
    assert 0.45 <= means["eq5d5l_index_us"] <= 0.65  # INVEST 0.55 (3L US value set)
    assert 45 <= means["odi"] <= 65  # assumption: the ODI's "severe disability" band
    opioid = (scores[(scores["measure"] == "mme_per_day") & (scores["timepoint"] == "baseline")]["score"] > 0).mean()
    assert 0.58 <= opioid <= 0.78  # 68% in the pooled vertebroplasty arms (Staples 2011)


def test_disability_quality_of_life_and_opioids_follow_the_pain_score(files):
    pain = pd.read_csv(files / "cohort.csv", dtype={"patient_id": str})[["patient_id", "timepoint", "vps"]]
    scores = pd.read_csv(files / "scores.csv", dtype={"patient_id": str}).merge(pain, on=["patient_id", "timepoint"])
    for measure, sign in (("rdq", 1), ("odi", 1), ("eq5d5l_index_us", -1), ("eq5d5l_vas", -1), ("mme_per_day", 1)):
        rows = scores[scores["measure"] == measure]
        rho = rows["score"].corr(rows["vps"], method="spearman")
        assert sign * rho > 0.3, (measure, rho)
    by_time = scores.groupby(["measure", "timepoint"])["score"].mean()
    assert by_time["rdq", "1m"] < by_time["rdq", "baseline"] - 4  # about 7 points a week after (Trout 2005)
    assert by_time["eq5d5l_index_us", "1m"] > by_time["eq5d5l_index_us", "baseline"]


def test_the_answers_exercise_the_missing_item_rules(files):
    answers = pd.read_csv(files / "answers.csv", dtype=str, keep_default_na=False)
    odi = answers[answers["instrument"] == "odi"].groupby(["patient_id", "timepoint"]).size()
    assert (odi == 9).sum() > 50 and (odi <= 8).sum() >= 1  # one section missing is common; two happen
    rdq = answers[answers["instrument"] == "rdq24"].groupby(["patient_id", "timepoint"]).size()
    assert (rdq < 24).sum() > 20  # statements left unanswered count as not ticked
    drugs = set(answers.loc[answers["item"] == "drug", "answer"])
    assert {"none", "paracetamol", "fentanyl"} <= drugs


def test_memory_does_not_grow_with_the_cohort_when_instruments_are_written(tmp_path):
    def peak(patients: int) -> int:
        tracemalloc.start()
        try:
            write_cohort(tmp_path / "c.csv", patients, 1, instruments_out=tmp_path / "a.csv", chunk_size=500)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(2_000)
    assert large < 1.3 * small, (small, large)
