"""vertebro as a REDCap project: instruments, fields, events, and the data dictionary file.

A longitudinal project with one arm whose events are the timepoints (DESIGN.md §2); the unscheduled
event repeats. The site is the record's data access group (``redcap_data_access_group``), as in REDCap.

======================  ==========================  =================================================
instrument              events                      fields
======================  ==========================  =================================================
``enrolment``           baseline                    record_id, sex, birth_date, age, mrn, name
``index_procedure``     baseline                    procedure_date, etiology, pathologic_cause,
                                                    pathologic_basis, levels (checkbox), cement_ml
``pain_assessment``     every event                 pain_date, pain_days, pain_vps, pain_instrument,
                                                    pain_venue
``follow_up``           every event but baseline    fu_recurrent_pain
======================  ==========================  =================================================

The dictionary has the 18 columns REDCap writes, in its order and with its header text (taken from a
real export, ``reference/redcap/``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..domain.levels import LEVEL_CODES
from ..domain.rules import AGE_MAX, AGE_MIN, CEMENT_ML_MAX, SCORE_MAX, SCORE_MIN
from ..domain.timepoints import SCHEDULE, UNSCHEDULED
from ..domain.vocabulary import ETIOLOGY, INSTRUMENT, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE, SEX, VENUE, Vocabulary
from ..errors import VertebroError

DICTIONARY_HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
STRUCTURAL = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group")
LEVELS = Vocabulary("level", tuple((code.lower(), code) for code in LEVEL_CODES))
YES_NO = Vocabulary("yes/no", (("1", "Yes"), ("0", "No")))


@dataclass(frozen=True)
class Field:
    """One REDCap field: its name, instrument, type and what the flat format calls it."""

    name: str
    form: str
    field_type: str
    label: str
    flat: str | None = None
    choices: Vocabulary | None = None
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    required: bool = False
    branching: str = ""
    note: str = ""

    def choices_text(self) -> str:
        if self.choices is None:
            return ""
        return " | ".join(f"{code}, {label}" for code, label in self.choices.items)


FIELDS: tuple[Field, ...] = (
    Field("record_id", "enrolment", "text", "Study id", "patient_id", required=True),
    Field("sex", "enrolment", "radio", "Sex", "sex", SEX, required=True),
    Field("birth_date", "enrolment", "text", "Date of birth", "birth_date", validation="date_ymd", identifier=True),
    Field("age", "enrolment", "text", "Age in years at the index procedure", "age", validation="integer",
          minimum=str(AGE_MIN), maximum=str(AGE_MAX), note="When the date of birth is not known"),
    Field("mrn", "enrolment", "text", "Medical record number", "mrn", identifier=True),
    Field("name", "enrolment", "text", "Patient name", "name", identifier=True),
    Field("procedure_date", "index_procedure", "text", "Date of the index procedure", "procedure_date",
          validation="date_ymd", identifier=True, required=True),
    Field("etiology", "index_procedure", "radio", "Fracture etiology", "etiology", ETIOLOGY, required=True),
    Field("pathologic_cause", "index_procedure", "dropdown", "Cause of the pathologic fracture", "pathologic_cause",
          PATHOLOGIC_CAUSE, branching="[etiology] = 'pathologic'"),
    Field("pathologic_basis", "index_procedure", "radio", "Basis of the pathologic diagnosis", "pathologic_basis",
          PATHOLOGIC_BASIS, branching="[etiology] = 'pathologic'"),
    Field("levels", "index_procedure", "checkbox", "Treated vertebral levels", "levels", LEVELS),
    Field("cement_ml", "index_procedure", "text", "Total cement volume, ml", "cement_ml", validation="number",
          minimum="0", note=f"At most {CEMENT_ML_MAX:g} ml per level"),
    Field("pain_date", "pain_assessment", "text", "Date of the assessment", "assessed_on", validation="date_ymd",
          identifier=True),
    Field("pain_days", "pain_assessment", "text", "Days from the index procedure", "days", validation="integer",
          note="Negative before the procedure; used when the date is not exported"),
    Field("pain_vps", "pain_assessment", "text", "Pain score (0-10)", "vps", validation="number",
          minimum=f"{SCORE_MIN:g}", maximum=f"{SCORE_MAX:g}", required=True,
          note="LOINC 72514-3; a 100 mm VAS divided by 10"),
    Field("pain_instrument", "pain_assessment", "dropdown", "Pain instrument", "instrument", INSTRUMENT),
    Field("pain_venue", "pain_assessment", "dropdown", "Where the assessment took place", "venue", VENUE),
    Field("fu_recurrent_pain", "follow_up", "yesno", "Recurrent back pain", "recurrent_pain", YES_NO),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
FORMS = tuple(dict.fromkeys(f.form for f in FIELDS))


@dataclass(frozen=True)
class Event:
    """A REDCap event standing for a timepoint."""

    timepoint: str
    label: str
    day_offset: int
    offset_min: int
    offset_max: int

    @property
    def unique_name(self) -> str:
        return self.label.lower().replace(" ", "_") + "_arm_1"


_EVENT_LABELS = {"baseline": "Baseline", "post": "Post", "1w": "Week 1", "1m": "Month 1", "3m": "Month 3", "6m": "Month 6", "12m": "Month 12"}
#: The nominal day of each timepoint; REDCap's offsets say how far before and after it the window runs.
_NOMINAL_DAY = {"baseline": 0, "post": 1, "1w": 7, "1m": 30, "3m": 90, "6m": 180, "12m": 365}
EVENTS: tuple[Event, ...] = tuple(
    Event(tp.code, _EVENT_LABELS[tp.code], _NOMINAL_DAY[tp.code], _NOMINAL_DAY[tp.code] - tp.first_day, tp.last_day - _NOMINAL_DAY[tp.code])
    for tp in SCHEDULE
) + (Event(UNSCHEDULED, "Unscheduled", 0, 0, 0),)
EVENT_BY_TIMEPOINT = {e.timepoint: e for e in EVENTS}
#: Which instruments each event collects (REDCap's instrument designation).
EVENT_FORMS = {e.unique_name: (("enrolment", "index_procedure", "pain_assessment") if e.timepoint == "baseline" else ("pain_assessment", "follow_up")) for e in EVENTS}


def event_for(text: str) -> Event | None:
    """The event named by a unique event name (``month_1_arm_1``) or its label (``Month 1``,
    ``Month 1 (Arm 1: Arm 1)``), as REDCap's raw and label exports write it."""
    folded = text.strip().casefold()
    for event in EVENTS:
        if folded in (event.unique_name, event.label.casefold()) or folded.startswith(event.label.casefold() + " (arm"):
            return event
    return None


def dictionary_rows() -> list[list[str]]:
    rows = []
    for f in FIELDS:
        rows.append([
            f.name, f.form, "", f.field_type, f.label, f.choices_text(), f.note, f.validation, f.minimum, f.maximum,
            "y" if f.identifier else "", f.branching, "y" if f.required else "", "", "", "", "", "",
        ])
    return rows


def redcap_csv_line(values: list[object]) -> str:
    """One CSV line the way REDCap writes it: a value is quoted when it holds a space, comma, quote or
    line break (``"Record ID"`` but ``concentration``), quotes doubled."""
    cells = []
    for value in values:
        text = "" if value is None else str(value)
        if any(ch in text for ch in ' ,"\n\r'):
            text = '"' + text.replace('"', '""') + '"'
        cells.append(text)
    return ",".join(cells) + "\n"


def write_dictionary(out: Path) -> list[Path]:
    """Write the data dictionary, and beside it the events and instrument-designation files that
    REDCap's "Define my events" and "Designate instruments" pages upload. Returns the paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.write(redcap_csv_line(list(DICTIONARY_HEADER)))
        handle.writelines(redcap_csv_line(row) for row in dictionary_rows())
    events = out.with_name(out.stem + ".events.csv")
    with events.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_name", "arm_num", "unique_event_name", "custom_event_label", "day_offset", "offset_min", "offset_max"])
        for e in EVENTS:
            writer.writerow([e.label, 1, e.unique_name, "", e.day_offset, e.offset_min, e.offset_max])
    designation = out.with_name(out.stem + ".instrument-designation.csv")
    with designation.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arm_num", "unique_event_name", "form"])
        for event, forms in EVENT_FORMS.items():
            writer.writerows([1, event, form] for form in forms)
    return [out, events, designation]


@dataclass(frozen=True)
class DictionaryField:
    """A field as a dictionary file describes it (names and choices come from the file)."""

    name: str
    form: str
    field_type: str
    label: str
    choices: dict[str, str]  # code -> label


def read_dictionary(path: Path) -> dict[str, DictionaryField]:
    """Read a REDCap data dictionary; it must describe vertebro's project (the fields above)."""
    if not path.exists():
        raise VertebroError(f"{path} does not exist; give the data dictionary written by `vertebro redcap dictionary`")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VertebroError(f"{path.name} is not a readable REDCap data dictionary ({exc})") from None
    if not rows or tuple(h.strip() for h in rows[0][:3]) != DICTIONARY_HEADER[:3] or len(rows[0]) < 6:
        raise VertebroError(f"{path.name} is not a REDCap data dictionary: its header must start with {', '.join(DICTIONARY_HEADER[:3])}")
    fields: dict[str, DictionaryField] = {}
    for row in rows[1:]:
        row = row + [""] * (len(DICTIONARY_HEADER) - len(row))
        name = row[0].strip()
        if not name:
            continue
        choices = {}
        for part in row[5].split("|") if row[3] in ("radio", "dropdown", "checkbox") else []:
            code, _, label = part.partition(",")
            if code.strip():
                choices[code.strip()] = label.strip()
        if row[3] == "yesno":
            choices = {"1": "Yes", "0": "No"}
        fields[name] = DictionaryField(name, row[1].strip(), row[3].strip(), row[4].strip(), choices)
    missing = [f.name for f in FIELDS if f.required and f.name not in fields]
    if missing:
        raise VertebroError(f"{path.name} lacks the field(s) {', '.join(missing)} of vertebro's project; write it with `vertebro redcap dictionary`")
    return fields
