"""One validator: the import and the analysis take every flat-format rule from domain.flat_rules, so the
same broken file is refused for the same reasons on the same lines, and a rule changed there changes
both."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import numpy as np
import pandas as pd
import pytest

from vertebro.domain import flat_rules
from vertebro.domain.flat_rules import cell_rules, conflicting_patients, parse_distinct, repeated_assessments
from vertebro.domain.vocabulary import Vocabulary
from vertebro.interop.flat_validate import validate_flat_frame
from vertebro.stats.validate import FlatDataError, validate_flat

TODAY = date(2024, 6, 1)
HEADER = "patient_id,site,sex,age,etiology,procedure_date,timepoint,days,vps,venue,recurrent_pain".split(",")
GOOD = [
    "P1,A,F,70,osteoporotic,2024-01-10,baseline,-2,8,neurointerventional_clinic,",
    "P1,A,F,70,osteoporotic,2024-01-10,post,1,3,neurointerventional_clinic,0",
    "P1,A,F,70,osteoporotic,2024-01-10,1m,30,2,primary_care,1",
    "P2,A,M,64,pathologic,2024-02-01,baseline,0,9,neurointerventional_clinic,",
    "P2,A,M,64,pathologic,2024-02-01,post,0,6,neurointerventional_clinic,0",
]


def table(rows: list[str]) -> pd.DataFrame:
    return pd.DataFrame([row.split(",") for row in rows], columns=HEADER)


def import_problems(frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    problems = validate_flat_frame(frame, today=TODAY).problems
    return {(int(p.line), p.column, p.rule) for p in problems.itertuples()}


def analysis_problems(frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    try:
        validate_flat(frame, source="test")
    except FlatDataError as error:
        return {(p.line, p.column, p.rule) for p in error.problems}
    return set()


def broken_cells() -> pd.DataFrame:
    frame = table(GOOD)
    frame.loc[0, "sex"] = "X"
    frame.loc[1, "vps"] = "11"
    frame.loc[2, "recurrent_pain"] = "maybe"
    frame.loc[3:4, "age"] = "130"
    frame.loc[4, "timepoint"] = "later"
    frame.loc[2, "procedure_date"] = "2024-02-30"
    frame.loc[1, "venue"] = "garden"
    frame = frame.assign(levels="T12;L1")
    frame.loc[0, "levels"] = "T13"
    frame.loc[4, "levels"] = "L1 T12"  # the same levels written another way: no conflict
    frame.loc[4, "procedure_date"] = "2024-02-02"  # P2's procedure on two dates
    return frame


def test_the_same_broken_file_gives_both_paths_the_same_problem_list():
    found, refused = import_problems(broken_cells()), analysis_problems(broken_cells())
    conflict = "patient P2 has conflicting values across rows"
    cells = {p for p in found if conflict not in p[2]}
    assert cells == {p for p in refused if conflict not in p[2]}
    assert {(line, column) for line, column, _ in cells} == {
        (2, "sex"), (2, "levels"), (3, "vps"), (3, "venue"), (4, "recurrent_pain"), (4, "procedure_date"),
        (5, "age"), (6, "age"), (6, "timepoint"),
    }
    # The procedure on two dates: the import names both rows (it leaves the patient out), the analysis
    # the line to correct, with what each line says. "L1 T12" is "T12;L1": no conflict for either.
    assert {(line, column) for line, column, rule in found if conflict in rule} == {(5, "procedure_date"), (6, "procedure_date")}
    ((line, column, rule),) = [p for p in refused if conflict in p[2]]
    assert (line, column) == (6, "procedure_date") and rule == f"{conflict} (line 5 says 2024-02-01, line 6 says 2024-02-02)"


def test_a_rule_changed_in_domain_flat_rules_reaches_the_import_and_the_analysis(monkeypatch):
    assert import_problems(table(GOOD)) == set() == analysis_problems(table(GOOD))
    monkeypatch.setitem(flat_rules.CODED_COLUMNS, "sex", Vocabulary("sex", (("F", "Female"),)))
    expected = {(5, "sex", "sex must be one of: F"), (6, "sex", "sex must be one of: F")}
    assert import_problems(table(GOOD)) == expected == analysis_problems(table(GOOD))


def test_a_repeated_assessment_is_found_by_the_shared_rule_and_reported_by_each_path_its_way():
    frame = table([*GOOD, "P1,A,F,70,osteoporotic,2024-01-10,1m,40,4,primary_care,0"])
    assert {line for line, column, _ in import_problems(frame) if column == "timepoint"} == {4, 7}  # both left out
    ((line, column, rule),) = analysis_problems(frame)  # the analysis points at the line to correct
    assert (line, column) == (7, "timepoint") and "already has a 1m assessment on line 4" in rule


def test_repeated_assessments_keys_rows_saying_the_same_thing_twice():
    unscheduled = flat_rules.TIMEPOINT.codes.index("unscheduled")
    key = repeated_assessments(
        np.array([0, 0, 0, 0, 1, -1]), np.array([1, 1, unscheduled, unscheduled, 1, 1]), np.array([0, 0, 700, 701, 0, 0])
    )
    assert key[0] == key[1] >= 0 and (key[2:] == -1).all()  # unscheduled on two days, other patient, no patient


def test_conflicting_patients_ignores_blank_cells():
    assert conflicting_patients(np.array([0, 0, 1, 1, 1]), np.array([3, -1, 2, 2, 5])).tolist() == [False, True]


def test_parse_distinct_calls_the_cell_rule_once_per_value_and_names_the_rule():
    calls = []
    rule = cell_rules(TODAY)["vps"]
    parsed, broken = parse_distinct(["3", "11", None], lambda v: calls.append(v) or rule(v))
    assert calls == ["3", "11"] and parsed[0] == 3.0 and parsed[1] is None
    assert broken[1] == "pain score must be a number from 0 to 10" and broken[0] is None


@pytest.mark.parametrize("module", ["vertebro.domain.flat_rules", "vertebro.stats.validate"])
def test_the_shared_rules_and_the_analysis_validator_import_no_django(module):
    code = f"import sys, {module}; sys.exit(1 if any(m.split('.')[0] == 'django' for m in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
