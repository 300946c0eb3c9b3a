"""Property-based tests: random and broken CSV, REDCap and FHIR input never crash a reader, every
rejected row carries a message, and a rejected import leaves the registry as it was."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vertebro.errors import VertebroError
from vertebro.interop.fhir_import import read_pain_observations
from vertebro.interop.flat_validate import validate_flat_frame
from vertebro.interop.importer import import_flat_file
from vertebro.interop.problems import ImportRejected
from vertebro.interop.redcap_import import redcap_flat_table
from vertebro.interop.redcap_project import read_dictionary, write_dictionary
from vertebro.interop.redcap_export import record_columns
from vertebro.interop.tabular import read_csv_bytes

from vertebro.registry.models import ImportBatch, Patient
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import rich_rows
from .registry_snapshot import registry_snapshot

TODAY = date(2024, 6, 1)
PLAUSIBLE = {
    "patient_id": ["P1", "P2", "P3", ""],
    "site": ["north", "south", ""],
    "sex": ["F", "M", "female", "X", ""],
    "age": ["70", "70.0", "-1", "200", "", "abc"],
    "birth_date": ["1950-01-01", "", "1950-13-01"],
    "etiology": ["osteoporotic", "pathologic", "Pathologic (neoplastic)", "oops", ""],
    "procedure_date": ["2020-01-10", "2021-05-05", "2020-02-30", "", "1970-01-01"],
    "timepoint": ["baseline", "post", "1m", "3m", "unscheduled", "", "week"],
    "days": ["-2", "0", "1", "30", "90", "x", ""],
    "vps": ["0", "7", "10", "10.5", "-1", "", "seven", "=1+1"],
    "venue": ["primary_care", "Pain management clinic", "", "moon"],
    "recurrent_pain": ["0", "1", "", "maybe"],
    "assessed_on": ["2020-01-08", "2020-01-11", "2020-02-09", "", "2099-01-01"],
    "levels": ["T12", "T12;L1", "", "T13", "l1, l2"],
    "cement_ml": ["3.5", "0", "50", "", "lots"],
}
#: Digits other than 0-9 ('٣', '１０', '๓'): float() reads them, the registry refuses them.
other_digits = st.text(alphabet=st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()), min_size=1, max_size=3)
cell = st.one_of(st.text(max_size=6), st.text(alphabet=",\"\n\r'=;", max_size=4), other_digits)


@st.composite
def flat_csv(draw) -> bytes:
    columns = draw(st.lists(st.sampled_from(list(PLAUSIBLE) + ["bogus"]), min_size=1, max_size=len(PLAUSIBLE) + 1, unique=True))
    rows = draw(st.lists(st.tuples(*[st.one_of(st.sampled_from(PLAUSIBLE.get(c, ["z"])), cell) for c in columns]), max_size=8))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):  # break the file: cut it, insert a ragged line or raw junk
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "\n1,2\n", "\n\"unclosed", "\x00", "\n\n"])) + text[cut:]
    return text.encode("utf-8")


def _check_report(table, validation) -> None:
    lines = set(table.lines.tolist())
    valid = set(validation.frame["line"].tolist()) if len(validation.frame) else set()
    flagged = set(validation.problems["line"].dropna().astype(int))
    assert valid.isdisjoint(flagged)
    if validation.file_problems.empty:
        assert valid | flagged == lines  # every row is either taken or has a message
    assert all(isinstance(r, str) and r.strip() for r in validation.problems["rule"])
    assert all(isinstance(r, str) and r.strip() for r in table.problems["rule"])


@settings(max_examples=150, deadline=None)
@given(flat_csv())
def test_random_flat_csv_never_crashes_and_every_rejected_row_has_a_message(data):
    table = read_csv_bytes(data)
    validation = validate_flat_frame(table.frame, lines=table.lines, today=TODAY)
    _check_report(table, validation)


NUMERIC_COLUMNS = ("age", "days", "vps", "cement_ml")


@settings(max_examples=60, deadline=None)
@given(column=st.sampled_from(NUMERIC_COLUMNS), digits=other_digits)
def test_a_number_in_other_digits_is_refused_in_every_numeric_column(column, digits):
    row = {"patient_id": "P1", "site": "north", "sex": "F", "age": "70", "etiology": "osteoporotic",
           "procedure_date": "2020-01-10", "timepoint": "post", "days": "1", "vps": "3", "venue": "primary_care",
           "recurrent_pain": "0", "levels": "T12", "cement_ml": "3.5"}
    row[column] = digits
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    table = read_csv_bytes(buffer.getvalue().encode("utf-8"))
    validation = validate_flat_frame(table.frame, lines=table.lines, today=TODAY)
    refused = validation.problems[validation.problems["column"] == column]
    assert len(validation.frame) == 0 and len(refused) == 1, validation.problems
    assert refused["value"].iloc[0] == digits


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_read_or_refused_with_a_sentence(data):
    try:
        table = read_csv_bytes(data)
    except VertebroError as exc:
        assert "UTF-8" in str(exc) or ("is empty" in str(exc) and not data.lstrip(b"\xef\xbb\xbf").strip())
        return
    _check_report(table, validate_flat_frame(table.frame, lines=table.lines, today=TODAY))


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=flat_csv())
def test_a_rejected_import_leaves_the_registry_unchanged(tmp_path_factory, data):
    if not Patient.objects.exists():  # a registry with content, so "unchanged" means something
        flat_frame_import(frame=rich_rows(), import_batch=ImportBatch.objects.create(file_name="seed", file_sha256="0" * 64, file_format="csv"))
    path = Path(tmp_path_factory.mktemp("csv")) / "input.csv"
    path.write_bytes(data)
    before = registry_snapshot()
    try:
        import_flat_file(path=path)
    except (ImportRejected, VertebroError):
        assert registry_snapshot() == before
        return
    # accepted: every row was valid, and the database took all of them (no constraint broken)


@pytest.fixture(scope="module")
def dictionary(tmp_path_factory):
    return read_dictionary(write_dictionary(Path(tmp_path_factory.mktemp("dd")) / "DD.csv")[0])


REDCAP_VALUES = {
    "redcap_event_name": ["baseline_arm_1", "month_1_arm_1", "Month 3 (Arm 1: Arm 1)", "unscheduled_arm_1", "nowhere", ""],
    "record_id": ["1", "2", ""],
    "redcap_data_access_group": ["north", ""],
    "sex": ["F", "Male", "?"],
    "pain_vps": ["3", "11", ""],
    "pain_date": ["2020-01-08", "2020-02-20", "bad", ""],
    "procedure_date": ["2020-01-10", ""],
    "etiology": ["osteoporotic", "Pathologic (neoplastic)", "x"],
    "age": ["70", ""],
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_redcap_records_never_crash_and_problems_have_messages(dictionary, data):
    columns = record_columns(deidentified=False)
    chosen = data.draw(st.lists(st.sampled_from(columns), min_size=1, max_size=12, unique=True))
    rows = data.draw(st.lists(st.tuples(*[st.one_of(st.sampled_from(REDCAP_VALUES.get(c, ["", "1", "0", "Checked"])), cell) for c in chosen]), max_size=6))
    buffer = io.StringIO()
    csv.writer(buffer).writerows([chosen] + [list(r) for r in rows])
    table = read_csv_bytes(buffer.getvalue().encode())
    flat, structure, _ = redcap_flat_table(table, dictionary)
    validation = validate_flat_frame(flat.frame, lines=flat.lines, today=TODAY)
    assert all(r.strip() for r in structure["rule"]) and all(r.strip() for r in validation.problems["rule"])
    _check_report(flat, validation)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
PAIN = {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}


@st.composite
def observations(draw) -> dict:
    observation = {"resourceType": "Observation", "code": draw(st.sampled_from([PAIN, {"text": "x"}, None]))}
    for key in draw(st.lists(st.sampled_from(["valueQuantity", "valueInteger", "valueDecimal", "valueString", "valueCodeableConcept",
                                              "component", "subject", "effectiveDateTime", "effectivePeriod", "encounter"]), max_size=5, unique=True)):
        observation[key] = draw(json_values)
    return observation


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, st.builds(lambda obs: {"resourceType": "Bundle", "entry": [{"resource": o} for o in obs]}, st.lists(observations(), max_size=4))))
def test_random_fhir_input_never_crashes_and_each_pain_observation_is_read_or_reported(tmp_path_factory, document):
    path = Path(tmp_path_factory.mktemp("fhir")) / "bundle.json"
    path.write_text(json.dumps(document))
    found, problems = read_pain_observations(path)
    reported = set(problems["line"].dropna().astype(int))
    for number, observation in enumerate(found, start=1):
        assert (observation is None) == (number in reported)
    assert all(r.strip() for r in problems["rule"])
