"""REDCap: the dictionary REDCap expects, and imports of raw or label exports with problems in REDCap terms."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vertebro.errors import VertebroError
from vertebro.interop.export import export_registry
from vertebro.interop.problems import ImportRejected
from vertebro.interop.redcap_import import import_redcap_file
from vertebro.interop.redcap_project import DICTIONARY_HEADER, FIELDS_BY_NAME, read_dictionary, write_dictionary
from vertebro.registry.models import ImportBatch, Patient
from vertebro.registry.services.clinical import site_create
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import rich_rows
from .registry_snapshot import registry_snapshot, registry_wipe

REFERENCE = Path(__file__).parent / "redcap_reference"  # a real REDCap export (see its README)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_dictionary_has_the_18_columns_redcap_writes_in_order(tmp_path):
    dictionary, events, designation = write_dictionary(tmp_path / "DD.csv")
    rows = _rows(dictionary)
    assert tuple(rows[0]) == DICTIONARY_HEADER and len(DICTIONARY_HEADER) == 18
    # the header of a real REDCap export, byte for byte
    assert dictionary.read_text().splitlines()[0] == (REFERENCE / "longitudinal-repeating-dictionary.csv").read_text().splitlines()[0]
    assert rows[1][:4] == ["record_id", "enrolment", "", "text"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["sex"][3:6] == ["radio", "Sex", "F, Female | M, Male"]
    assert by_name["pain_vps"][7:10] == ["number", "0", "10"]
    assert by_name["birth_date"][7] == "date_ymd" and by_name["birth_date"][10] == "y"
    assert by_name["levels"][3] == "checkbox" and "t12, T12" in by_name["levels"][5]
    assert by_name["pathologic_cause"][11] == "[etiology] = 'pathologic'"
    assert all(len(r) == 18 for r in rows)
    assert [r[2] for r in _rows(events)[1:]] == ["baseline_arm_1", "post_arm_1", "week_1_arm_1", "month_1_arm_1", "month_3_arm_1",
                                                 "month_6_arm_1", "month_12_arm_1", "unscheduled_arm_1"]
    assert ["1", "baseline_arm_1", "enrolment"] in _rows(designation)


def test_a_dictionary_of_another_project_is_refused():
    with pytest.raises(VertebroError, match="lacks the field"):
        read_dictionary(REFERENCE / "longitudinal-repeating-dictionary.csv")


@pytest.fixture
def exported(db, tmp_path):
    batch = ImportBatch.objects.create(file_name="seed.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=rich_rows(), import_batch=batch)
    snapshot = registry_snapshot()
    out = tmp_path / "records.csv"
    export_registry(file_format="redcap", out=out)
    return snapshot, out, write_dictionary(tmp_path / "DD.csv")[0]


def _relabel(path: Path, out: Path) -> None:
    """Turn a raw export into REDCap's label export: labels for headers, events, choices, checkboxes."""
    rows = _rows(path)
    header = rows[0]
    labelled_header = []
    for name in header:
        if name.startswith("levels___"):
            labelled_header.append(f"Treated vertebral levels (choice={name.split('___')[1].upper()})")
        elif name in FIELDS_BY_NAME and name != "record_id":
            labelled_header.append(FIELDS_BY_NAME[name].label)
        else:
            labelled_header.append({"redcap_event_name": "Event Name", "redcap_data_access_group": "Data Access Group"}.get(name, name))
    body = []
    for row in rows[1:]:
        cells = []
        for name, value in zip(header, row):
            field = FIELDS_BY_NAME.get(name)
            if name == "redcap_event_name":
                value = value.replace("_arm_1", "").replace("_", " ").title() + " (Arm 1: Arm 1)"
            elif name.startswith("levels___") and value != "":
                value = "Checked" if value == "1" else "Unchecked"
            elif field is not None and field.choices is not None and value:
                value = field.choices.label(value)
            cells.append(value)
        body.append(cells)
    with out.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([labelled_header] + body)


def test_a_label_export_imports_to_the_same_registry(exported, tmp_path):
    snapshot, raw, dictionary = exported
    labelled = tmp_path / "labels.csv"
    _relabel(raw, labelled)
    assert "Female" in labelled.read_text() and "Checked" in labelled.read_text()
    registry_wipe()
    import_redcap_file(path=labelled, dictionary=dictionary)
    assert registry_snapshot() == snapshot


def test_problems_name_the_redcap_line_and_field(exported, tmp_path):
    snapshot, raw, dictionary = exported
    rows = _rows(raw)
    header = rows[0]
    rows[1][header.index("sex")] = "X"  # record P000's baseline row, file line 2
    rows[3][header.index("pain_vps")] = "11"  # line 4
    rows[5][header.index("redcap_event_name")] = "month_2_arm_1"  # line 6
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(ImportRejected) as caught:
        import_redcap_file(path=bad, dictionary=dictionary)
    problems = {(int(r.line), r.column) for r in caught.value.problems.itertuples()}
    assert {(2, "sex"), (4, "pain_vps"), (6, "redcap_event_name")} <= problems
    assert registry_snapshot() == snapshot


def _moved_to_east(raw: Path, tmp_path: Path) -> Path:
    site_create(code="east", name="East")  # a known site: the data access group must name one
    moved = tmp_path / "moved.csv"
    moved.write_text(raw.read_text().replace(",north,", ",east,"))  # P000 and P002's data access group
    return moved


def test_the_data_access_group_is_the_site(exported, tmp_path):
    _, raw, dictionary = exported
    moved = _moved_to_east(raw, tmp_path)
    registry_wipe()
    import_redcap_file(path=moved, dictionary=dictionary)
    assert set(Patient.objects.filter(site__code="east").values_list("study_id", flat=True)) == {"P000", "P002"}


def test_a_data_access_group_that_would_move_patients_to_another_site_is_refused(exported, tmp_path):
    snapshot, raw, dictionary = exported
    with pytest.raises(ImportRejected) as caught:
        import_redcap_file(path=_moved_to_east(raw, tmp_path), dictionary=dictionary)
    problems = caught.value.problems
    assert set(problems["column"]) == {"redcap_data_access_group"}  # told in the file's own terms
    assert problems["rule"].str.contains("is registered at north; an import does not move patients between sites").all()
    assert registry_snapshot() == snapshot


def test_repeating_instrument_rows_and_redcap_bookkeeping_columns_are_read(exported, tmp_path):
    """REDCap writes a repeating instrument's rows with its name in redcap_repeat_instrument (as in
    the reference export) and may add survey columns: both are understood, nothing is lost."""
    snapshot, raw, dictionary = exported
    rows = _rows(raw)
    header = rows[0] + ["redcap_survey_identifier", "pain_assessment_timestamp"]
    body = []
    for row in rows[1:]:
        row = row + ["", ""]
        if row[header.index("redcap_event_name")] == "unscheduled_arm_1":
            row[header.index("redcap_repeat_instrument")] = "pain_assessment"
        body.append(row)
    variant = tmp_path / "repeating.csv"
    with variant.open("w", newline="") as handle:
        csv.writer(handle).writerows([header] + body)
    registry_wipe()
    import_redcap_file(path=variant, dictionary=dictionary)
    assert registry_snapshot() == snapshot


def test_a_data_access_group_written_as_redcaps_unique_name_is_the_site_it_names(exported, tmp_path):
    snapshot, raw, dictionary = exported
    renamed = tmp_path / "unique-names.csv"
    renamed.write_text(raw.read_text().replace(",north,", ",NORTH,").replace(",south,", ",South,"))
    outcome = import_redcap_file(path=renamed, dictionary=dictionary)
    assert outcome.counts.rows_created == 0 and outcome.counts.rows_updated == 0
    assert registry_snapshot() == snapshot
