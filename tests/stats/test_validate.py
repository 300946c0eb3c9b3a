"""Malformed flat input is refused with the file, line, column, value and rule; clean input is typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.errors import VertebroError
from vertebro.stats.validate import FlatDataError, load_flat_csv, validate_flat

HEADER = "patient_id,site,sex,age,etiology,procedure_date,timepoint,days,vps,venue,recurrent_pain"
GOOD_ROWS = [
    "P1,A,F,70,osteoporotic,2024-01-10,baseline,-2,8,neurointerventional_clinic,",
    "P1,A,F,70,osteoporotic,2024-01-10,post,1,3,neurointerventional_clinic,0",
    "P1,A,F,70,osteoporotic,2024-01-10,1m,30,2,primary_care,1",
    "P2,A,M,64,pathologic,2024-02-01,baseline,0,9,neurointerventional_clinic,",
    "P2,A,M,64,pathologic,2024-02-01,post,0,6,neurointerventional_clinic,0",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "flat.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def refusal(path: Path) -> FlatDataError:
    with pytest.raises(FlatDataError) as caught:
        load_flat_csv(path)
    assert isinstance(caught.value, VertebroError)
    return caught.value


def test_clean_file_is_returned_typed(tmp_path):
    df = load_flat_csv(write_csv(tmp_path, GOOD_ROWS))
    assert list(df["patient_id"]) == ["P1", "P1", "P1", "P2", "P2"]
    assert df["age"].dtype == np.int64 and df["vps"].dtype == np.float64 and df["days"].dtype == np.int64
    assert df["recurrent_pain"].tolist()[1:3] == [0.0, 1.0]
    assert np.isnan(df["recurrent_pain"].iloc[0])


def test_score_eleven_is_refused_with_line_column_value_and_rule(tmp_path):
    rows = list(GOOD_ROWS)
    rows[2] = rows[2].replace(",30,2,", ",30,11,")
    error = refusal(write_csv(tmp_path, rows))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (4, "vps", "11")
    assert "from 0 to 10" in problem.rule
    assert "flat.csv, line 4, column vps: '11' is not allowed — pain score must be a number from 0 to 10" in str(error)


def test_unknown_etiology_is_refused(tmp_path):
    rows = [row.replace("pathologic", "idiopathic") for row in GOOD_ROWS]
    error = refusal(write_csv(tmp_path, rows))
    assert [(p.line, p.column, p.value) for p in error.problems] == [(5, "etiology", "idiopathic"), (6, "etiology", "idiopathic")]
    assert "etiology must be one of: osteoporotic, pathologic, traumatic" in str(error)


def test_missing_required_column_is_refused_on_the_header_line(tmp_path):
    header = HEADER.replace(",vps", ",pain")
    error = refusal(write_csv(tmp_path, GOOD_ROWS, header=header))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (1, "vps", None)
    assert "line 1 (header), column vps: this required column is missing" in str(error)


def test_duplicate_timepoint_for_a_patient_names_both_lines(tmp_path):
    rows = [*GOOD_ROWS, "P1,A,F,70,osteoporotic,2024-01-10,1m,40,4,primary_care,0"]
    error = refusal(write_csv(tmp_path, rows))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (7, "timepoint", "1m")
    assert "already has a 1m assessment on line 4" in problem.rule


def test_inconsistent_sex_across_a_patients_rows_is_refused(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = rows[1].replace(",F,", ",M,")
    error = refusal(write_csv(tmp_path, rows))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (3, "sex", "F / M")
    assert "patient P1 has conflicting values across rows" in problem.rule
    assert "line 2 says F, line 3 says M" in problem.rule


@pytest.mark.parametrize(
    ("column", "old", "new"),
    [("age", ",70,", ",71,"), ("etiology", "osteoporotic", "pathologic")],
)
def test_inconsistent_age_or_etiology_is_refused(tmp_path, column, old, new):
    rows = list(GOOD_ROWS)
    rows[2] = rows[2].replace(old, new)
    error = refusal(write_csv(tmp_path, rows))
    assert [(p.line, p.column) for p in error.problems] == [(4, column)]


def test_every_problem_is_reported_at_once_in_line_order(tmp_path):
    rows = list(GOOD_ROWS)
    rows[0] = rows[0].replace(",F,", ",X,")
    rows[3] = rows[3].replace(",64,", ",abc,")
    rows[4] = rows[4].replace(",post,", ",later,")
    error = refusal(write_csv(tmp_path, rows))
    assert [(p.line, p.column) for p in error.problems] == [(2, "sex"), (5, "age"), (6, "timepoint")]
    assert "3 problems" in str(error)


def test_days_outside_the_stated_timepoint_window_is_refused(tmp_path):
    rows = list(GOOD_ROWS)
    rows[2] = rows[2].replace(",1m,30,", ",1m,200,")
    error = refusal(write_csv(tmp_path, rows))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (4, "days", 200)
    assert "outside the 1m window" in problem.rule


def test_recurrent_pain_must_be_yes_or_no(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = rows[1][:-1] + "maybe"
    error = refusal(write_csv(tmp_path, rows))
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.value) == (3, "recurrent_pain", "maybe")


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    rows = [GOOD_ROWS[0], "", GOOD_ROWS[1].replace(",3,", ",12,")]
    error = refusal(write_csv(tmp_path, rows))
    assert [(p.line, p.column) for p in error.problems] == [(4, "vps")]


def test_labels_and_other_spellings_the_domain_accepts_are_normalised(tmp_path):
    rows = [GOOD_ROWS[0].replace(",F,", ",Female,"), GOOD_ROWS[1].replace(",F,", ",female,")]
    df = load_flat_csv(write_csv(tmp_path, rows))
    assert df["sex"].tolist() == ["F", "F"]


def test_deidentified_export_with_only_required_columns_is_accepted(tmp_path):
    header = "patient_id,sex,age,etiology,timepoint,vps"
    rows = ["h1,F,70,osteoporotic,baseline,8", "h1,F,70,osteoporotic,post,3"]
    df = load_flat_csv(write_csv(tmp_path, rows, header=header))
    assert "days" not in df.columns and df["vps"].tolist() == [8.0, 3.0]


def test_typed_frame_from_the_registry_passes_unchanged():
    frame = pd.DataFrame(
        {
            "patient_id": ["p1", "p1"],
            "sex": ["M", "M"],
            "age": [81, 81],
            "etiology": ["traumatic", "traumatic"],
            "timepoint": ["baseline", "unscheduled"],
            "days": [-1, 900],
            "vps": [7.0, 5.5],
            "recurrent_pain": [None, 1],
        }
    )
    clean = validate_flat(frame, source="registry")
    assert clean["vps"].tolist() == [7.0, 5.5] and clean["days"].tolist() == [-1, 900]
    assert clean["recurrent_pain"].iloc[1] == 1.0


def test_problem_from_a_dataframe_names_its_source_and_row_line():
    frame = pd.DataFrame(
        {"patient_id": ["p1"], "sex": ["F"], "age": [130], "etiology": ["osteoporotic"], "timepoint": ["post"], "vps": [2]}
    )
    with pytest.raises(FlatDataError, match=r"registry, line 2, column age: 130 is not allowed — age must be"):
        validate_flat(frame, source="registry")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(VertebroError, match="does not exist"):
        load_flat_csv(tmp_path / "nope.csv")


def test_each_patient_with_conflicting_values_is_reported_once_on_the_first_differing_line(tmp_path):
    rows = []
    for number in range(1, 41):
        sex, other = ("F", "M") if number % 2 else ("M", "F")
        rows.append(f"Q{number},A,{sex},70,osteoporotic,2024-01-10,baseline,-2,8,neurointerventional_clinic,")
        rows.append(f"Q{number},A,{sex},70,osteoporotic,2024-01-10,post,1,3,neurointerventional_clinic,0")
        rows.append(f"Q{number},A,{other if number <= 30 else sex},70,osteoporotic,2024-01-10,1m,30,2,primary_care,0")
    error = refusal(write_csv(tmp_path, rows))
    assert [(p.line, p.column) for p in error.problems] == [(1 + 3 * n, "sex") for n in range(1, 31)]
    assert "patient Q7 has conflicting values across rows (line 20 says F, line 22 says M)" in error.problems[6].rule


def test_a_blank_site_on_one_row_is_not_a_second_site(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = rows[1].replace("P1,A,", "P1,,")
    assert list(load_flat_csv(write_csv(tmp_path, rows))["site"]) == ["A", "", "A", "A", "A"]
    rows[2] = rows[2].replace("P1,A,", "P1,B,")
    (problem,) = refusal(write_csv(tmp_path, rows)).problems
    assert (problem.line, problem.column, problem.value) == (4, "site", "A / B")


def test_validate_flat_returns_a_copy_the_caller_may_change():
    frame = pd.DataFrame([row.split(",") for row in GOOD_ROWS], columns=HEADER.split(","))
    clean = validate_flat(frame)
    clean.loc[0, "site"] = "Z"
    clean.loc[0, "vps"] = 0.0
    assert frame.loc[0, "site"] == "A" and frame.loc[0, "vps"] == "8"


@pytest.mark.parametrize(("written", "rule"), [("2024-02-30", "this day is not in the calendar"), ("10/01/2024", "a date must be written YYYY-MM-DD")])
def test_a_procedure_date_that_is_no_date_is_refused_not_taken_as_missing(tmp_path, written, rule):
    rows = [row.replace("2024-01-10", written) for row in GOOD_ROWS]
    problems = refusal(write_csv(tmp_path, rows)).problems
    assert [(p.line, p.column, p.value) for p in problems] == [(2, "procedure_date", written), (3, "procedure_date", written), (4, "procedure_date", written)]
    assert all(p.rule.startswith(rule) for p in problems)


def test_an_empty_or_semicolon_file_is_named_as_such(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(VertebroError, match="is empty: it needs a header line"):
        load_flat_csv(empty)
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(HEADER.replace(",", ";") + "\n" + GOOD_ROWS[0].replace(",", ";") + "\n")
    with pytest.raises(VertebroError, match="separated by ';', not commas"):
        load_flat_csv(semicolons)
