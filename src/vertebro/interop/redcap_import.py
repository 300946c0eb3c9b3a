"""Importing a REDCap flat record export of vertebro's project (``redcap_project``).

The rows of one record are gathered into flat rows: the baseline event gives the fixed fields
(enrolment, index procedure), every event row with a pain score gives one assessment, its event the
timepoint (the repeating unscheduled event: one assessment per instance). ``redcap_data_access_group``
is the site. Choice fields may hold raw codes or labels (REDCap's two export modes); checkbox fields
come as ``levels___<code>`` columns (1/0, or Checked/Unchecked). Column headers may be field names or,
in a label export, field labels. The flat rows then pass the same validation and write path as a CSV
import; problems are reported with the REDCap file's lines and field names.
"""

from __future__ import annotations

import re

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .flat_validate import validate_flat_frame
from .importer import ImportOutcome, import_flat_table
from .problems import combine, problems_frame
from .redcap_project import FIELDS, FIELDS_BY_NAME, STRUCTURAL, DictionaryField, event_for, read_dictionary
from .tabular import Table, file_sha256, read_table

FLAT_TO_REDCAP = {f.flat: f.name for f in FIELDS if f.flat}
FIXED_FIELDS = ("sex", "birth_date", "age", "mrn", "name", "procedure_date", "etiology", "pathologic_cause", "pathologic_basis", "cement_ml")
PAIN_FIELDS = ("pain_date", "pain_days", "pain_vps", "pain_instrument", "pain_venue", "fu_recurrent_pain")
CHECKED = {"1", "checked", "yes", "y", "true"}
UNCHECKED = {"0", "unchecked", "no", "n", "false", ""}


def _header_names(columns: pd.Index, dictionary: dict[str, DictionaryField]) -> dict[str, str]:
    """Map each header to a field name: names stay, labels (label exports) become names,
    ``Label (choice=T12)`` becomes ``levels___t12``."""
    by_label = {f.label.casefold(): f.name for f in dictionary.values()}
    mapping = {}
    for column in columns:
        text = str(column).strip()
        folded = text.casefold()
        if "(choice=" in folded:
            label, _, choice = text.rpartition(" (choice=")
            field = by_label.get(label.casefold())
            choice = choice.rstrip(")")
            if field:
                code = next((c for c, lab in dictionary[field].choices.items() if choice.casefold() in (c.casefold(), lab.casefold())), choice)
                mapping[column] = f"{field}___{code.lower()}"
                continue
        mapping[column] = by_label.get(folded, text if "___" not in text else text.lower())
    structural_labels = {"record id": "record_id", "event name": "redcap_event_name", "repeat instrument": "redcap_repeat_instrument",
                         "repeat instance": "redcap_repeat_instance", "data access group": "redcap_data_access_group"}
    return {c: structural_labels.get(str(c).strip().casefold(), m) for c, m in mapping.items()}


def _choice_code(value: str, field: DictionaryField) -> str:
    """A raw code or a label of the dictionary's choices as the raw code (unknown text is kept, for the
    validator to name)."""
    if not value or not field.choices:
        return value
    for code, label in field.choices.items():
        if value.casefold() in (code.casefold(), label.casefold()):
            return code
    return value


def redcap_flat_table(table: Table, dictionary: dict[str, DictionaryField]) -> tuple[Table, pd.DataFrame, dict[int, int]]:
    """The flat rows of a REDCap record table.

    Returns the flat table (its lines are the REDCap rows holding each pain score), problems of the
    REDCap structure itself, and for each record's flat rows the line of its baseline row (where the
    fixed fields are), to point fixed-field problems at the right line.
    """
    frame = table.frame.rename(columns=_header_names(table.frame.columns, dictionary))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    lines = np.asarray(table.lines)
    found = []
    missing = [c for c in ("record_id", "redcap_event_name") if c not in frame]
    if missing:
        return Table(pd.DataFrame(), np.array([], dtype="int64"), table.problems), combine([problems_frame(1, "(header)", missing, "a REDCap export needs this column")]), {}
    ignorable = ("_complete", "_timestamp")  # form status and survey timestamps: REDCap's bookkeeping
    unknown = [c for c in frame.columns if c not in STRUCTURAL and c != "redcap_survey_identifier"
               and c.split("___")[0] not in dictionary and not c.endswith(ignorable)]
    if unknown:
        found.append(problems_frame(1, "(header)", unknown, "not a field of the data dictionary"))
    unknown_fields = [c for c in frame.columns if c.split("___")[0] in dictionary and c.split("___")[0] not in FIELDS_BY_NAME]
    if unknown_fields:
        found.append(problems_frame(1, "(header)", unknown_fields, "not a field of vertebro's project; write the dictionary with `vertebro redcap dictionary`"))

    def cell(row: pd.Series, name: str) -> str:
        value = str(row.get(name, "") or "").strip()
        field = dictionary.get(name)
        return _choice_code(value, field) if field and field.field_type in ("radio", "dropdown", "yesno") else value

    fixed: dict[str, dict[str, str]] = {}
    fixed_line: dict[str, int] = {}
    pain_rows: list[dict[str, str]] = []
    pain_lines: list[int] = []
    level_columns = [c for c in frame.columns if c.startswith("levels___")]
    for position, (_, row) in enumerate(frame.iterrows()):
        line = int(lines[position])
        record = str(row["record_id"]).strip()
        event = event_for(str(row["redcap_event_name"]))
        if not record:
            found.append(problems_frame(line, "record_id", "", "every row needs its record_id"))
            continue
        if event is None:
            found.append(problems_frame(line, "redcap_event_name", str(row["redcap_event_name"]), "not an event of vertebro's project"))
            continue
        site = str(row.get("redcap_data_access_group", "") or "").strip()
        if event.timepoint == "baseline" and not str(row.get("redcap_repeat_instrument", "") or "").strip():
            values = {name: cell(row, name) for name in FIXED_FIELDS}
            levels, bad = [], []
            for column in level_columns:
                flag = str(row[column]).strip().casefold()
                if flag in CHECKED:
                    levels.append(column.split("___", 1)[1].upper())
                elif flag not in UNCHECKED:
                    bad.append(column)
            for column in bad:
                found.append(problems_frame(line, column, str(row[column]), "a checkbox column holds 1 or 0 (Checked or Unchecked)"))
            values["levels"] = ";".join(levels)
            values["site"] = site
            if record in fixed:
                found.append(problems_frame(line, "redcap_event_name", event.unique_name, f"record {record} has more than one baseline row"))
            fixed[record] = values
            fixed_line[record] = line
        if any(str(row.get(name, "") or "").strip() for name in PAIN_FIELDS):
            pain = {flat: cell(row, name) for flat, name in (("assessed_on", "pain_date"), ("days", "pain_days"), ("vps", "pain_vps"),
                                                               ("instrument", "pain_instrument"), ("venue", "pain_venue"), ("recurrent_pain", "fu_recurrent_pain"))}
            pain.update(patient_id=record, timepoint=event.timepoint, _site=site)
            pain_rows.append(pain)
            pain_lines.append(line)
    rows = []
    for pain in pain_rows:
        record = pain["patient_id"]
        values = dict(fixed.get(record, {}))
        values["site"] = values.get("site") or pain.pop("_site")
        pain.pop("_site", None)
        rows.append({**values, **pain})
    records_without_baseline = sorted({p["patient_id"] for p in pain_rows} - set(fixed))
    for record in records_without_baseline:
        line = pain_lines[[p["patient_id"] for p in pain_rows].index(record)]
        found.append(problems_frame(line, "redcap_event_name", "", f"record {record} has no baseline row (enrolment and index procedure)"))
    columns = ["patient_id", "site", "sex", "age", "birth_date", "etiology", "procedure_date", "timepoint", "days", "vps", "venue",
               "recurrent_pain", "assessed_on", "levels", "cement_ml", "mrn", "name", "pathologic_cause", "pathologic_basis", "instrument"]
    flat = pd.DataFrame([{c: r.get(c, "") for c in columns} for r in rows], columns=columns, dtype="object")
    baseline_lines = {i: fixed_line.get(r["patient_id"], pain_lines[i]) for i, r in enumerate(rows)}
    return Table(flat, np.asarray(pain_lines, dtype="int64"), table.problems), combine(found), baseline_lines


def _redcap_problems(problems: pd.DataFrame, flat_lines: np.ndarray, baseline_lines: dict[int, int]) -> pd.DataFrame:
    """Flat-format problems told in REDCap terms: field names, and the baseline row's line for fixed fields."""
    if problems.empty:
        return problems
    by_line = {int(line): i for i, line in enumerate(flat_lines)}
    out = problems.copy()
    fixed = out["column"].isin(list(FIXED_FIELDS) + ["levels", "site"])
    out.loc[fixed, "line"] = [baseline_lines.get(by_line.get(int(line), -1), line) if pd.notna(line) else line for line in out.loc[fixed, "line"]]
    out["column"] = out["column"].map(lambda c: "redcap_data_access_group" if c == "site" else FLAT_TO_REDCAP.get(c, c))
    return out.drop_duplicates().reset_index(drop=True)


def _site_codes_of_groups(groups: set[str]) -> dict[str, str]:
    """REDCap writes a data access group by its unique name, lower case with punctuation replaced
    (``SITE-A`` may come back as ``site_a``): each group that names exactly one registry site once case
    and punctuation are set aside becomes that site's code; any other value stays as it is (and an
    unknown site is refused by name)."""
    from ..registry.models import Site

    def key(text: str) -> str:
        return re.sub(r"[^0-9a-z]", "", text.casefold())

    codes = list(Site.objects.values_list("code", flat=True))
    by_key: dict[str, list[str]] = {}
    for code in codes:
        by_key.setdefault(key(code), []).append(code)
    return {group: by_key[key(group)][0] for group in groups if group not in codes and len(by_key.get(key(group), [])) == 1}


def import_redcap_file(
    *, path: Path, dictionary: Path, site: str | None = None, dry_run: bool = False, skip_invalid: bool = False,
    user=None, os_user: str | None = None, progress: Callable[[str, int, int], None] | None = None,  # noqa: ANN001
) -> ImportOutcome:
    """Import a REDCap flat record export with its data dictionary (all or nothing, like a CSV import)."""
    fields = read_dictionary(dictionary)
    table = read_table(path, "csv")
    flat, structure, baseline_lines = redcap_flat_table(table, fields)
    if "site" in flat.frame:
        flat.frame["site"] = flat.frame["site"].replace(_site_codes_of_groups(set(flat.frame["site"].dropna())))
    validation = validate_flat_frame(flat.frame, lines=flat.lines, site=site)
    problems = combine([structure, _redcap_problems(validation.problems, flat.lines, baseline_lines)])
    bad_records = set()
    if len(structure):
        bad_lines = set(structure["line"].dropna().astype(int))
        bad_records = {pid for pid, line in zip(flat.frame["patient_id"], flat.lines) if line in bad_lines}
    keep = ~validation.frame["patient_id"].isin(bad_records) if len(validation.frame) else slice(None)
    validation = type(validation)(validation.frame[keep].reset_index(drop=True), problems, validation.rows_read)
    return import_flat_table(
        table=flat, source=path, file_format="redcap", sha256=file_sha256(path), site=site, dry_run=dry_run,
        skip_invalid=skip_invalid, user=user, os_user=os_user, progress=progress, validation=validation,
        describe=lambda problems: _redcap_problems(problems, flat.lines, baseline_lines),
    )
