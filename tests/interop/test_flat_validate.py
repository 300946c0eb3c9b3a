"""Every domain rule applied to a flat table, row by row and across rows, names line, column, value, rule."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from vertebro.interop.flat_validate import validate_flat_frame

from .flat_rows import flat_rows

TODAY = date(2024, 6, 1)


def _problems(frame, **kwargs):
    result = validate_flat_frame(frame, today=TODAY, **kwargs)
    return [(int(r.line), r.column, str(r.value), r.rule) for r in result.problems.itertuples()]


def test_a_clean_table_has_no_problems_and_normalised_values():
    frame = flat_rows(3)
    frame.loc[0, "sex"] = "male"
    frame.loc[0:3, "sex"] = "Male"
    frame.loc[4:7, "venue"] = frame.loc[4:7, "venue"].replace("primary_care", "Primary care")
    result = validate_flat_frame(frame, today=TODAY)
    assert result.problems.empty
    assert set(result.frame["sex"]) == {"M", "F"}
    assert "primary_care" in set(result.frame["venue"])
    assert result.frame["line"].tolist() == list(range(2, 14))


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("vps", "11", "pain score must be a number from 0 to 10"),
        ("vps", "seven", "pain score must be a number from 0 to 10"),
        ("sex", "X", "sex must be one of: F, M"),
        ("etiology", "traumatc", "etiology must be one of: osteoporotic, pathologic, traumatic"),
        ("age", "72.5", "age must be a whole number of years from 0 to 120"),
        ("procedure_date", "10/01/2020", "a date must be written YYYY-MM-DD"),
        ("procedure_date", "1975-01-01", "a date must lie between 1980-01-01 and today (2024-06-01)"),
        ("venue", "garden", "venue must be one of"),
        ("levels", "T13", "a vertebral level is one of C1–C7, T1–T12, L1–L5, S1–S5"),
        ("recurrent_pain", "perhaps", "a yes/no field takes 1 or 0 (yes or no)"),
    ],
)
def test_a_broken_value_is_reported_with_line_column_value_and_rule(column, value, rule):
    frame = flat_rows(1)
    row = 2 if column != "recurrent_pain" else 2
    frame.loc[row, column] = value
    problems = _problems(frame)
    if column in ("age", "procedure_date", "levels", "etiology"):
        frame.loc[:, column] = value  # a fixed field: the same on every row of the patient
        problems = _problems(frame)
    mine = [p for p in problems if p[1] == column]
    assert mine, problems
    assert mine[0][2] == value and mine[0][3].startswith(rule)


def test_timepoint_outside_its_window_and_baseline_after_the_procedure():
    frame = flat_rows(1)
    frame.loc[2, "timepoint"] = "3m"  # day 30
    frame.loc[0, ["days", "assessed_on"]] = ["3", "2020-01-13"]  # baseline after the procedure
    problems = _problems(frame)
    assert (4, "timepoint", "3m (day 30)", "an assessment on day 30 lies outside the 3m window (61..135 days from the procedure)") in problems
    assert (2, "assessed_on", "2020-01-13", "a baseline assessment must be on or before the procedure date") in problems


def test_a_baseline_after_the_procedure_given_as_days_reports_the_days_cell():
    frame = flat_rows(1)
    frame.loc[0, ["days", "assessed_on"]] = ["3", ""]
    assert (2, "days", "3", "a baseline assessment must be on or before the procedure date") in _problems(frame)


def test_missing_timepoint_is_derived_but_day_zero_needs_it():
    frame = flat_rows(1)
    frame.loc[2, "timepoint"] = ""
    frame.loc[1, ["timepoint", "days", "assessed_on"]] = ["", "0", "2020-01-10"]
    result = validate_flat_frame(frame, today=TODAY)
    assert [(p.line, p.column) for p in result.problems.itertuples()] == [(3, "timepoint")]
    assert "give the timepoint" in result.problems["rule"].iloc[0]
    assert result.frame.loc[result.frame["line"] == 4, "timepoint"].item() == "1m"


def test_days_and_assessed_on_must_agree():
    frame = flat_rows(1)
    frame.loc[3, "days"] = "91"
    assert (5, "days", "91", "days must equal assessed_on − procedure_date") in _problems(frame)


def test_one_score_per_patient_and_timepoint():
    frame = flat_rows(2)
    frame.loc[3, ["timepoint", "days", "assessed_on", "venue"]] = ["1m", "31", "2020-02-10", "primary_care"]
    problems = [p for p in _problems(frame) if "one score" in p[3]]
    assert {p[0] for p in problems} == {4, 5}
    assert "patient P000 has 1m on lines 4, 5" in problems[0][3]


def test_unscheduled_scores_may_repeat_on_different_days():
    frame = flat_rows(1)
    frame.loc[2, ["timepoint", "days", "assessed_on"]] = ["unscheduled", "700", "2021-12-10"]
    frame.loc[3, ["timepoint", "days", "assessed_on"]] = ["unscheduled", "701", "2021-12-11"]
    assert _problems(frame) == []


def test_a_patients_fixed_fields_must_agree_across_rows():
    frame = flat_rows(2)
    frame.loc[5, "sex"] = "M"  # P001 is F elsewhere
    problems = [p for p in _problems(frame) if p[1] == "sex"]
    assert {p[0] for p in problems} == {6, 7, 8, 9}
    assert problems[0][2] == "F / M" and problems[0][3] == "patient P001 has conflicting values across rows"


def test_a_blank_fixed_field_takes_the_patients_value():
    frame = flat_rows(1)
    frame.loc[1:3, ["age", "levels"]] = ""
    result = validate_flat_frame(frame, today=TODAY)
    assert result.problems.empty
    assert result.frame["age"].tolist() == [60] * 4 and result.frame["levels"].tolist() == ["L2"] * 4


def test_birth_date_and_age_must_agree():
    frame = flat_rows(1)
    frame["birth_date"] = "1959-06-01"  # 60 on 2020-01-10
    assert _problems(frame) == []
    frame["birth_date"] = "1961-06-01"
    assert {p[1] for p in _problems(frame)} == {"age"}


def test_header_problems_stop_everything():
    frame = flat_rows(1).drop(columns=["vps"]).assign(comments="x")
    result = validate_flat_frame(frame, today=TODAY)
    rules = set(zip(result.problems["column"], result.problems["value"]))
    assert ("(header)", "vps") in rules and ("(header)", "comments") in rules
    assert len(result.file_problems) == 2 and result.frame.empty


def test_site_option_fills_blank_sites_and_refuses_other_sites():
    frame = flat_rows(2).drop(columns=["site"])
    assert validate_flat_frame(frame, site="north", today=TODAY).problems.empty
    frame = flat_rows(2)
    problems = _problems(frame, site="north")
    assert {p[0] for p in problems} == {6, 7, 8, 9} and problems[0][3] == "this import is for site north only (--site)"


def test_cement_is_checked_per_level():
    frame = flat_rows(2)
    frame.loc[frame["patient_id"] == "P001", "cement_ml"] = "30"  # two levels: 15 ml each, allowed
    assert _problems(frame) == []
    frame.loc[frame["patient_id"] == "P000", "cement_ml"] = "30"  # one level: 30 ml
    assert {p[1] for p in _problems(frame)} == {"cement_ml"}


def test_pathologic_cause_only_for_pathologic_fractures():
    frame = flat_rows(2)
    frame["pathologic_cause"] = "metastasis"
    assert {p[0] for p in _problems(frame)} == {2, 3, 4, 5}


def test_the_validated_frame_holds_codes_as_categoricals_and_whole_numbers_as_nullable_integers():
    frame = flat_rows(2)
    frame.loc[0:3, "sex"] = "Male"  # a label: the frame holds the code
    result = validate_flat_frame(frame, today=TODAY)
    out = result.frame
    for column in ("patient_id", "site", "sex", "etiology", "venue", "timepoint", "levels"):
        assert isinstance(out[column].dtype, pd.CategoricalDtype), column
    assert out["sex"].tolist() == ["M"] * 4 + ["F"] * 4
    assert str(out["age"].dtype) == "Int64" and str(out["days"].dtype) == "Int64"
    assert str(out["recurrent_pain"].dtype) == "boolean" and out["recurrent_pain"].isna().sum() == 4
    assert out["procedure_date"].dtype == "datetime64[ns]" and out["vps"].dtype == "float64"
    assert out["venue"].isna().tolist() == [True, True, False, False] * 2


def test_days_beyond_any_date_are_refused_by_the_domain_range_rule():
    frame = flat_rows(1).drop(columns=["assessed_on"])
    frame.loc[2, "days"] = "9e99"  # a whole number, but no date is that far away
    problems = _problems(frame)
    assert (4, "days", "9e99", "an assessment must lie within 3650 days after its procedure") in problems


@pytest.mark.parametrize("timepoint", ["", "unscheduled"])
def test_a_score_more_than_30_days_before_the_procedure_is_refused_not_kept_as_unscheduled(timepoint):
    frame = flat_rows(1)
    procedure = date.fromisoformat(frame.loc[0, "procedure_date"])
    frame.loc[0, ["timepoint", "days", "assessed_on"]] = [timepoint, "-93", (procedure - timedelta(days=93)).isoformat()]
    problems = _problems(frame)
    from vertebro.domain.rules import RULE_SCORE_TOO_EARLY

    assert [(p[0], p[1], p[3]) for p in problems] == [(2, "assessed_on", RULE_SCORE_TOO_EARLY)]
    frame.loc[0, ["days", "assessed_on"]] = ["-30", (procedure - timedelta(days=30)).isoformat()]
    assert _problems(frame) == []  # the first day of the baseline window


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs")])
def test_a_file_separated_by_something_else_than_commas_is_one_problem_naming_it(separator, named):
    frame = pd.DataFrame({separator.join(["patient_id", "site", "sex"]): ["P1" + separator + "north" + separator + "F"]})
    problems = validate_flat_frame(frame).problems
    assert len(problems) == 1 and problems["column"].iloc[0] == "(header)"
    assert problems["rule"].iloc[0].startswith(f"the columns are separated by {named}, not commas")


def test_a_row_with_a_missing_data_reason_is_refused_by_the_import_with_what_reads_it():
    frame = flat_rows(1).assign(missing_reason="")
    assert _problems(frame) == []  # the column alone (an export's, blank on scored rows) is fine
    frame.loc[3, ["vps", "missing_reason"]] = ["", "died"]
    assert _problems(frame) == [(5, "missing_reason", "died", "a row with a missing-data reason is read by vertebro analyze (the flow), not imported: the import takes pain scores only")]
