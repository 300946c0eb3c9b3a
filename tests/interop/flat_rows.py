"""Small flat-format frames for the interop tests (string cells, as a CSV reader gives them)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

#: (timepoint, days, vps, venue, recurrent_pain) of one patient's schedule.
SCHEDULE = (
    ("baseline", -2, "8", "", ""),
    ("post", 1, "4", "", ""),
    ("1m", 30, "3", "primary_care", "0"),
    ("3m", 90, "5", "pain_clinic", "1"),
)


def flat_rows(patients: int = 3, *, procedure_date: date = date(2020, 1, 10)) -> pd.DataFrame:
    """``patients`` patients at two sites, the last one pathologic, four assessments each."""
    rows = []
    for i in range(patients):
        pathologic = i == patients - 1
        for timepoint, days, vps, venue, recurrent in SCHEDULE:
            rows.append(
                {
                    "patient_id": f"P{i:03d}",
                    "site": "north" if i % 2 == 0 else "south",
                    "sex": "F" if i % 3 else "M",
                    "age": str(60 + i),
                    "etiology": "pathologic" if pathologic else "osteoporotic",
                    "procedure_date": procedure_date.isoformat(),
                    "timepoint": timepoint,
                    "days": str(days),
                    "vps": vps,
                    "venue": venue,
                    "recurrent_pain": recurrent,
                    "assessed_on": (procedure_date + timedelta(days=days)).isoformat(),
                    "levels": "T12;L1" if i % 2 else "L2",
                    "cement_ml": "6.0" if i % 2 else "3.5",
                }
            )
    return pd.DataFrame(rows, dtype="object")


def rich_rows() -> pd.DataFrame:
    """Flat rows using every field the flat import reads: identifiers, a pathologic cause, another
    instrument, unscheduled visits and values a spreadsheet would run as formulas."""
    frame = flat_rows(4)
    frame["mrn"] = frame["patient_id"].map({"P000": "MRN-1", "P001": "+4471", "P002": "", "P003": "MRN-3"})
    frame["name"] = frame["patient_id"].map({"P000": "=HYPERLINK(\"http://x\")", "P001": "Ann Lee", "P002": "", "P003": "@Bob"})
    frame["birth_date"] = frame["patient_id"].map({"P000": "1959-06-01", "P001": "", "P002": "", "P003": ""})
    frame.loc[frame["patient_id"] == "P000", "age"] = "60"
    frame["pathologic_cause"] = frame["patient_id"].map({"P003": "myeloma"}).fillna("")
    frame["pathologic_basis"] = frame["patient_id"].map({"P003": "biopsy"}).fillna("")
    frame["instrument"] = "vps"
    frame.loc[frame["patient_id"] == "P002", "instrument"] = "nrs"
    extra = frame.iloc[[3, 7]].copy()
    extra[["timepoint", "days", "assessed_on", "vps", "venue", "recurrent_pain"]] = [
        ["unscheduled", "700", "2021-12-10", "6.5", "telephone", "1"],
        ["unscheduled", "-25", "2019-12-16", "9", "", ""],
    ]
    return pd.concat([frame, extra], ignore_index=True)
