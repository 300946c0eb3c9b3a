"""The registry as a REDCap flat record export of vertebro's project (``redcap_project``).

One row per record × event (× repeat instance for the repeating unscheduled event), structural columns
first, then each instrument's fields followed by its ``<form>_complete`` status (2, complete, where the
row holds the instrument's data; empty otherwise), checkbox ``levels___<code>`` columns 0/1, raw codes.
De-identified: identifier fields (names, MRN, every date) are left out, as REDCap's own de-identified
export does, the record id is the keyed hash and ages over 89 read 90.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .redcap_project import EVENT_BY_TIMEPOINT, EVENT_FORMS, FIELDS, FORMS, LEVELS, STRUCTURAL, redcap_csv_line
from .sanitize import neutralise_text


def record_columns(*, deidentified: bool) -> list[str]:
    columns = list(STRUCTURAL)
    for form in FORMS:
        for f in FIELDS:
            if f.form != form or f.name == "record_id" or (deidentified and f.identifier):
                continue
            if f.field_type == "checkbox":
                columns += [f"{f.name}___{code}" for code in f.choices.codes]
            else:
                columns.append(f.name)
        columns.append(f"{form}_complete")
    return columns


def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(float(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)


def redcap_rows(frame: pd.DataFrame, *, deidentified: bool) -> list[dict[str, str]]:
    """REDCap rows of a flat frame (one patient's rows share the record)."""
    rows: list[dict[str, str]] = []
    order = {e.timepoint: i for i, e in enumerate(EVENT_BY_TIMEPOINT.values())}
    frame = frame.assign(_event=frame["timepoint"].map(order)).sort_values(["patient_id", "_event", "days"], kind="stable")
    for patient_id, visits in frame.groupby("patient_id", sort=True):
        first = visits.iloc[0]
        fixed = {
            "sex": first.get("sex"), "birth_date": first.get("birth_date"), "age": first.get("age"),
            "mrn": first.get("mrn"), "name": first.get("name"), "procedure_date": first.get("procedure_date"),
            "etiology": first.get("etiology"), "pathologic_cause": first.get("pathologic_cause"),
            "pathologic_basis": first.get("pathologic_basis"), "cement_ml": first.get("cement_ml"),
        }
        levels = {lv.lower() for lv in str(first.get("levels") or "").split(";") if lv}
        base = {"record_id": str(patient_id), "redcap_data_access_group": _text(first.get("site"))}
        baseline_done = False
        instance = 0
        for visit in visits.itertuples(index=False):
            event = EVENT_BY_TIMEPOINT[visit.timepoint]
            row = dict(base, redcap_event_name=event.unique_name)
            if visit.timepoint == "unscheduled":
                instance += 1
                row["redcap_repeat_instance"] = str(instance)
            row.update(pain_date=_text(getattr(visit, "assessed_on", None)), pain_days=_text(visit.days), pain_vps=_text(visit.vps),
                       pain_instrument=_text(getattr(visit, "instrument", None)), pain_venue=_text(visit.venue), pain_assessment_complete="2")
            if "follow_up" in EVENT_FORMS[event.unique_name] and not pd.isna(visit.recurrent_pain):
                row.update(fu_recurrent_pain=str(int(visit.recurrent_pain)), follow_up_complete="2")
            if visit.timepoint == "baseline":
                row.update(_fixed_fields(fixed, levels))
                baseline_done = True
            rows.append(row)
        if not baseline_done:
            rows.insert(len(rows) - len(visits), dict(base, redcap_event_name=EVENT_BY_TIMEPOINT["baseline"].unique_name, **_fixed_fields(fixed, levels)))
    columns = record_columns(deidentified=deidentified)
    return [{c: row.get(c, "") for c in columns} for row in rows]


def _fixed_fields(fixed: dict, levels: set[str]) -> dict[str, str]:
    out = {name: _text(value) for name, value in fixed.items()}
    out.update({f"levels___{code}": "1" if code in levels else "0" for code in LEVELS.codes})
    out.update(enrolment_complete="2", index_procedure_complete="2")
    return out


def _text_fields() -> set[str]:
    """The columns a spreadsheet could take for a formula: free text (no REDCap validation) and the
    data access group. Validated fields (dates, numbers) are left as they are: ``-3`` days is a number,
    and REDCap refuses a number or date that carries a prefix."""
    return {f.name for f in FIELDS if f.field_type == "text" and not f.validation} | {"redcap_data_access_group"}


def write_redcap_records(rows: list[dict[str, str]], *, out: Path, deidentified: bool) -> int:
    """Write REDCap rows (:func:`redcap_rows`) as a record export file; returns the number of rows.

    Text cells a spreadsheet would run as a formula (leading ``= + - @``, tab, CR) take a leading
    apostrophe, as the flat CSV export does: REDCap's Data Import Tool reads the file and keeps such a
    value as plain text, and vertebro's REDCap import takes the apostrophe off again.
    """
    columns = record_columns(deidentified=deidentified)
    text = _text_fields() & set(columns)
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.write(redcap_csv_line(columns))
        handle.writelines(redcap_csv_line([neutralise_text(row[c]) if c in text else row[c] for c in columns]) for row in rows)
    return len(rows)
