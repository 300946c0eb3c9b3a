"""The STROBE flow: every patient counted once per stage, every missing score under one reason."""

from __future__ import annotations

import pandas as pd
import pytest

from vertebro.stats.analysis import analyze
from vertebro.stats.flow import FLOW_REASONS, patient_flow, split_missing_rows
from vertebro.stats.validate import FlatDataError, validate_flat

COLUMNS = "patient_id,site,sex,age,etiology,procedure_date,timepoint,days,vps,venue,recurrent_pain,missing_reason".split(",")
# Cut-off: P1's 3m score on 2024-04-20 (day 101). 1m windows closed for P1..P3 (procedures before 2024-02-20).
ROWS = [
    "P1,A,F,70,osteoporotic,2024-01-10,baseline,-2,8,neurointerventional_clinic,,",
    "P1,A,F,70,osteoporotic,2024-01-10,post,1,3,neurointerventional_clinic,0,",
    "P1,A,F,70,osteoporotic,2024-01-10,3m,101,2,primary_care,0,",
    "P2,A,M,64,pathologic,2024-01-20,baseline,0,9,neurointerventional_clinic,,",
    "P2,A,M,64,pathologic,2024-01-20,post,0,6,neurointerventional_clinic,0,",
    "P2,A,M,64,pathologic,2024-01-20,1m,,,,,died",
    "P3,A,F,81,pathologic,2024-01-25,post,1,5,neurointerventional_clinic,0,",
    "P3,A,F,81,pathologic,2024-01-25,1m,,,,,declined",
    "P4,A,M,55,pathologic,2024-04-15,baseline,-1,7,neurointerventional_clinic,,",
    "P5,A,M,40,traumatic,2024-01-12,baseline,-1,7,neurointerventional_clinic,,",
]


def frame(rows=ROWS, columns=COLUMNS) -> pd.DataFrame:
    return pd.DataFrame([row.split(",") for row in rows], columns=columns)


def counts(flow: dict, group: str, timepoint: str) -> dict:
    return next(t for t in flow["groups"][group]["timepoints"] if t["timepoint"] == timepoint)


def test_registered_treated_and_etiology_count_every_patient_once():
    flow = analyze(frame())["flow"]
    assert (flow["registered"], flow["treated"]) == (5, 5)
    assert flow["by_etiology"] == {"osteoporotic": 1, "pathologic": 3, "traumatic": 1}
    assert flow["groups"]["pathologic"]["patients"] == 3 and flow["data_cutoff"] == "2024-04-20"


def test_a_recorded_reason_is_counted_and_death_holds_at_every_later_timepoint():
    flow = analyze(frame())["flow"]
    one_month = counts(flow, "pathologic", "1m")
    assert one_month["assessed"] == 0 and one_month["not_assessed"] == 3
    assert one_month["missing"] == {**dict.fromkeys(FLOW_REASONS, 0), "died": 1, "declined": 1, "not_yet_due": 1}
    three_months = counts(flow, "pathologic", "3m")["missing"]
    assert three_months["died"] == 1 and three_months["declined"] == 0  # declining once is not for ever
    assert three_months["not_yet_due"] == 3 - 1  # P3 (window closes 2024-06-08) and P4


def test_a_closed_window_without_score_or_reason_is_window_missed_and_an_open_one_not_yet_due():
    flow = analyze(frame())["flow"]
    assert counts(flow, "pathologic", "baseline")["missing"]["window_missed"] == 1  # P3 had no baseline
    assert counts(flow, "osteoporotic", "1m")["missing"]["window_missed"] == 1  # P1 skipped 1m
    assert counts(flow, "osteoporotic", "6m")["missing"]["not_yet_due"] == 1


def test_each_not_assessed_patient_has_exactly_one_reason():
    flow = analyze(frame())["flow"]
    for group in ("osteoporotic", "pathologic"):
        for entry in flow["groups"][group]["timepoints"]:
            assert entry["assessed"] + entry["not_assessed"] == flow["groups"][group]["patients"]
            assert sum(entry["missing"].values()) == entry["not_assessed"], entry


def test_without_dates_not_yet_due_and_window_missed_are_null_and_a_warning_says_why():
    columns = ["patient_id", "sex", "age", "etiology", "timepoint", "vps", "missing_reason"]
    rows = ["h1,F,70,osteoporotic,baseline,8,", "h1,F,70,osteoporotic,post,3,", "h2,M,60,pathologic,baseline,9,",
            "h2,M,60,pathologic,post,,withdrawn", "h3,M,60,pathologic,baseline,9,"]
    result = analyze(frame(rows, columns))
    flow = result["flow"]
    assert flow["treated"] is None and flow["data_cutoff"] is None
    post = counts(flow, "pathologic", "post")["missing"]
    assert post["not_yet_due"] is None and post["window_missed"] is None
    assert (post["withdrawn"], post["unknown"]) == (1, 1)
    assert any(w.startswith("flow: procedure dates or days are missing") for w in result["warnings"])
    assert any(w.startswith("flow: there is no procedure_date column") for w in result["warnings"])


def test_a_group_without_patients_counts_zero_and_says_so():
    rows = [row for row in ROWS if "pathologic" not in row]
    result = analyze(frame(rows))
    assert result["flow"]["groups"]["pathologic"] == {"patients": 0, "timepoints": [
        {"timepoint": "baseline", "assessed": 0, "not_assessed": 0, "missing": dict.fromkeys(FLOW_REASONS, 0)},
        *[counts(result["flow"], "pathologic", t) for t in ("post", "1w", "1m", "3m")],
    ]}
    assert "flow: there is no pathologic patient: every pathologic count is 0" in result["warnings"]


def test_rows_that_only_give_a_reason_change_no_statistic():
    with_reasons = analyze(frame())
    without = analyze(frame([row for row in ROWS if not row.endswith(("died", "declined"))]))
    assert with_reasons["timepoints"] == without["timepoints"]
    assert with_reasons["completeness"] == without["completeness"]


def test_a_reason_beside_a_score_or_outside_the_vocabulary_is_refused():
    rows = list(ROWS)
    rows[1] = rows[1] + "died"
    rows[5] = rows[5].replace("died", "abducted")
    with pytest.raises(FlatDataError) as caught:
        validate_flat(frame(rows))
    assert [(p.line, p.column, p.value) for p in caught.value.problems] == [(3, "missing_reason", "died"), (7, "missing_reason", "abducted")]
    assert "leave vps or missing_reason empty" in caught.value.problems[0].rule
    assert "missing-data reason must be one of" in caught.value.problems[1].rule


def test_a_row_without_score_or_reason_is_still_refused():
    rows = list(ROWS)
    rows[5] = rows[5].replace("died", "")
    with pytest.raises(FlatDataError, match="line 7, column vps"):
        validate_flat(frame(rows))


def test_labels_of_reasons_are_read_as_codes_and_split_off():
    rows = [row.replace(",died", ",Died") for row in ROWS]
    scored, reasons = split_missing_rows(validate_flat(frame(rows)))
    assert reasons["missing_reason"].tolist() == ["died", "declined"] and scored["vps"].notna().all()
    assert patient_flow(scored, reasons).registered == 5


def test_analyze_prints_the_flow_table(run_cli, tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("\n".join([",".join(COLUMNS), *ROWS]) + "\n")
    code, out, err = run_cli("analyze", "--csv", str(path))
    assert code == 0, err
    assert "Flow of patients" in out and "Registered: 5 patients" in out
    assert "1 month 0 3 Not yet due 1; Declined 1; Died 1" in " ".join(out.split())
