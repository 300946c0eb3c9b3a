"""Instrument score and answer files: typed when clean, refused line by line when broken (issue 10)."""

from __future__ import annotations

import pandas as pd
import pytest

from vertebro.errors import VertebroError
from vertebro.stats.instrument_scores import SCORE_COLUMNS, load_instrument_csv
from vertebro.stats.validate import FlatDataError

SCORES = "patient_id,instrument,measure,timepoint,days,score"
ANSWERS = "patient_id,instrument,timepoint,days,instance,item,answer"


def write(tmp_path, header, rows):
    path = tmp_path / "instruments.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def problems(path):
    with pytest.raises(FlatDataError) as caught:
        load_instrument_csv(path)
    return [(p.line, p.column, p.rule) for p in caught.value.problems]


def test_a_clean_score_file_is_typed(tmp_path):
    frame = load_instrument_csv(write(tmp_path, SCORES, ["P1,odi,odi,baseline,-2,62", "P1,,ODI,1m,30,40.5",
                                                         "P2,eq5d5l,eq5d5l_index_us,3m,,-0.2"]))  # fmt: skip
    assert list(frame.columns) == list(SCORE_COLUMNS)
    assert frame["score"].tolist() == [62.0, 40.5, -0.2] and frame["instrument"].tolist() == ["odi", "odi", "eq5d5l"]
    assert frame["days"].isna().tolist() == [False, False, True]


def test_a_broken_score_file_names_every_line_column_and_rule(tmp_path):
    found = problems(write(tmp_path, SCORES, [
        "P1,odi,odi,baseline,-2,120",          # out of range
        "P1,odi,womac,1m,30,10",               # unknown measure
        "P1,rdq24,odi,3m,30,10",               # days outside the 3m window; wrong instrument
        "P1,odi,odi,baseline,-1,50",           # second baseline
        ",odi,odi,12m,300,x",                  # no patient, not a number
    ]))  # fmt: skip
    lines = {(line, column) for line, column, _ in found}
    assert {(2, "score"), (3, "measure"), (4, "days"), (4, "instrument"), (5, "timepoint"), (6, "patient_id"), (6, "score")} <= lines
    assert any("from 0 to 100" in rule for _, _, rule in found)
    assert any("outside the 3m window" in rule for _, _, rule in found)


def test_answers_are_scored_by_the_definitions_with_their_missing_rules(tmp_path):
    odi_one_missing = [f"P1,odi,baseline,-1,,odi_{n:02d},{2 if n != 8 else ''}" for n in range(1, 11)]
    odi_two_missing = [f"P1,odi,1m,30,,odi_{n:02d},3" for n in range(1, 9)]
    eq5d = [f"P1,eq5d5l,baseline,-1,,{item},{level}" for item, level in
            zip(("eq5d_mobility", "eq5d_self_care", "eq5d_usual_activities", "eq5d_pain_discomfort",
                 "eq5d_anxiety_depression", "eq5d_vas"), (2, 1, 3, 5, 4, 40))]  # fmt: skip
    drugs = ["P1,analgesics,baseline,-1,1,drug,oxycodone", "P1,analgesics,baseline,-1,1,dose,10",
             "P1,analgesics,baseline,-1,1,unit,mg", "P1,analgesics,baseline,-1,1,route,oral",
             "P1,analgesics,baseline,-1,1,doses_per_day,2", "P1,analgesics,baseline,-1,2,drug,paracetamol",
             "P1,analgesics,1m,30,1,drug,none"]  # fmt: skip
    frame = load_instrument_csv(write(tmp_path, ANSWERS, odi_one_missing + odi_two_missing + eq5d + drugs))
    got = {(row.measure, row.timepoint): row.score for row in frame.itertuples()}
    assert got[("odi", "baseline")] == pytest.approx(100 * 18 / 45)
    assert ("odi", "1m") not in got  # two sections missing: no index, no row
    assert round(got[("eq5d5l_index_us", "baseline")], 3) == 0.090 and got[("eq5d5l_vas", "baseline")] == 40
    assert got[("mme_per_day", "baseline")] == 30 and got[("mme_per_day", "1m")] == 0


def test_a_broken_answer_file_is_refused_with_the_line_of_each_problem(tmp_path):
    found = problems(write(tmp_path, ANSWERS, [
        "P1,odi,baseline,-1,,odi_01,7",
        "P1,odi,baseline,-1,,odi_12,1",
        "P1,sf36,baseline,-1,,q1,1",
        "P2,rdq24,1m,30,,rdq_01,1",
        "P2,rdq24,1m,30,,rdq_01,0",
    ]))  # fmt: skip
    assert (3, "item") in {(line, column) for line, column, _ in found}
    assert (4, "instrument") in {(line, column) for line, column, _ in found}
    assert any(line == 6 and "answered twice" in rule for line, _, rule in found)
    assert any(line == 2 and column == "answer" and "odi_01" in rule for line, column, rule in found)


def test_a_file_of_neither_layout_is_refused_by_its_header(tmp_path):
    with pytest.raises(VertebroError, match="neither an instrument score file"):
        load_instrument_csv(write(tmp_path, "patient_id,rdq", ["P1,4"]))
    with pytest.raises(VertebroError, match="does not exist"):
        load_instrument_csv(tmp_path / "missing.csv")


def test_scores_and_answers_round_trip_to_the_same_frame(tmp_path):
    answers = [f"P1,rdq24,baseline,-1,,rdq_{n:02d},{n % 2}" for n in range(1, 25)]
    from_answers = load_instrument_csv(write(tmp_path, ANSWERS, answers))
    scores_path = tmp_path / "scores.csv"
    from_answers.to_csv(scores_path, index=False)
    pd.testing.assert_frame_equal(load_instrument_csv(scores_path), from_answers)
