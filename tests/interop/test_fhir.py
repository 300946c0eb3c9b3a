"""FHIR R4: one validated Bundle per patient out; pain Observations in, matched by identifier, never guessed."""

from __future__ import annotations

import copy
import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from vertebro.interop.export import export_registry
from vertebro.interop.fhir_import import LOINC_ANSWERS, import_fhir_path, pain_score
from vertebro.interop.problems import ImportRejected
from vertebro.registry.models import ImportBatch, PainAssessment
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import rich_rows
from .registry_snapshot import registry_snapshot

PAIN = {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}


@pytest.fixture
def registry(db):
    batch = ImportBatch.objects.create(file_name="seed.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=rich_rows(), import_batch=batch)


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_one_valid_bundle_per_patient_with_the_coded_resources(registry, tmp_path):
    export_registry(file_format="fhir", out=tmp_path / "out")
    files = sorted((tmp_path / "out").glob("*.json"))
    assert [f.name for f in files] == ["P000.json", "P001.json", "P002.json", "P003.json"]
    bundle = json.loads((tmp_path / "out" / "P001.json").read_text())
    Bundle.model_validate(bundle)  # R4B models: structure of R4 for these resources
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][0] == {"system": "urn:vertebro:study-id", "value": "P001"}
    assert patient["name"] == [{"text": "Ann Lee"}] and patient["gender"] == "female"
    conditions = _resources(bundle, "Condition")
    assert [c["code"]["coding"][0]["code"] for c in conditions] == ["M80.08XA", "M80.08XA"]
    assert [c["bodySite"][0]["coding"][0]["code"] for c in conditions] == ["T12", "L1"]
    (procedure,) = _resources(bundle, "Procedure")
    assert [c["code"] for c in procedure["code"]["coding"]] == ["22510", "22512"]
    assert procedure["performedDateTime"] == "2020-01-10"
    observations = _resources(bundle, "Observation")
    assert len(observations) == 5  # four scheduled + one unscheduled
    assert {o["code"]["coding"][0]["code"] for o in observations} == {"72514-3"}
    assert observations[0]["valueQuantity"] == {"value": 8.0, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"}
    encounters = _resources(bundle, "Encounter")
    assert {e["serviceType"]["coding"][0]["code"] for e in encounters} == {"primary_care", "pain_clinic"}
    pathologic = json.loads((tmp_path / "out" / "P003.json").read_text())
    assert {c["code"]["coding"][0]["code"] for c in _resources(pathologic, "Condition")} == {"M84.58XA"}
    lumbar = json.loads((tmp_path / "out" / "P000.json").read_text())
    assert [c["code"] for c in _resources(lumbar, "Procedure")[0]["code"]["coding"]] == ["22511"]


def test_reimporting_the_exported_bundles_changes_nothing(registry, tmp_path):
    before = registry_snapshot()
    export_registry(file_format="fhir", out=tmp_path / "out")
    outcome = import_fhir_path(path=tmp_path / "out")
    assert (outcome.counts.rows_created, outcome.counts.rows_updated) == (0, 0)
    assert registry_snapshot() == before


def _observation(value: dict, *, subject: dict | None = None, date: str = "2020-07-10", **extra) -> dict:
    return {
        "resourceType": "Observation", "status": "final", "code": PAIN,
        "subject": subject or {"identifier": {"system": "urn:vertebro:study-id", "value": "P001"}},
        "effectiveDateTime": date, **value, **extra,
    }


@pytest.mark.parametrize(
    ("value", "score"),
    [
        ({"valueQuantity": {"value": 4, "unit": "{score}"}}, 4.0),
        ({"valueQuantity": {"value": 4.5}}, 4.5),
        ({"valueInteger": 6}, 6.0),
        ({"valueDecimal": 2.5}, 2.5),
        ({"valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "LA10139-6"}]}}, 7.0),
    ],
)
def test_every_accepted_shape_of_pain_score(value, score):
    assert pain_score(_observation(value)) == score


def test_a_component_carrying_72514_3_is_read():
    observation = {"resourceType": "Observation", "code": {"text": "pain panel"},
                   "component": [{"code": {"text": "other"}, "valueInteger": 1}, {"code": PAIN, "valueInteger": 3}]}
    assert pain_score(observation) == 3.0


def test_the_loinc_answer_codes_cover_0_to_10():
    assert sorted(LOINC_ANSWERS.values()) == list(range(11))
    assert LOINC_ANSWERS["LA6111-4"] == 0 and LOINC_ANSWERS["LA13942-0"] == 10


def _bundle(*observations: dict, patient: dict | None = None) -> dict:
    entries = [{"fullUrl": f"urn:uuid:obs-{i}", "resource": o} for i, o in enumerate(observations)]
    if patient:
        entries.insert(0, {"fullUrl": "urn:uuid:patient", "resource": patient})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_import_matches_by_study_id_or_mrn_and_creates_the_scores(registry, tmp_path):
    mrn_patient = {"resourceType": "Patient", "identifier": [{"type": {"coding": [{"code": "MR"}]}, "system": "urn:vertebro:mrn:south", "value": "MRN-3"}]}
    (tmp_path / "a.json").write_text(json.dumps(_bundle(_observation({"valueInteger": 2}), _observation({"valueDecimal": 5.5}, date="2020-12-10"))))
    (tmp_path / "b.json").write_text(json.dumps(_bundle(_observation({"valueInteger": 1}, subject={"reference": "urn:uuid:patient"}, date="2020-07-11"), patient=mrn_patient)))
    outcome = import_fhir_path(path=tmp_path)
    assert outcome.counts.rows_created == 3
    created = set(PainAssessment.objects.filter(import_batch=outcome.batch).values_list("patient__study_id", "timepoint", "score"))
    assert created == {("P001", "6m", 2.0), ("P001", "12m", 5.5), ("P003", "6m", 1.0)}
    again = import_fhir_path(path=tmp_path)
    assert (again.counts.rows_created, again.counts.rows_updated, again.counts.rows_unchanged) == (0, 0, 3)


def test_unmatched_malformed_and_refused_values_are_reported_and_nothing_written(registry, tmp_path):
    before = registry_snapshot()
    bad = [
        _observation({"valueString": "7"}),
        _observation({"valueQuantity": {"value": 70, "unit": "mm"}}),
        _observation({"valueInteger": 3}, subject={"identifier": {"system": "urn:vertebro:study-id", "value": "NOBODY"}}),
        _observation({"valueInteger": 3}, subject={"display": "someone"}),
        _observation({"valueInteger": 12}, date="2020-08-01"),
        _observation({"valueInteger": 3}, date="2020-01-10"),  # procedure day: baseline or post? not guessed
    ]
    (tmp_path / "bad.json").write_text(json.dumps(_bundle(*bad)))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path)
    rules = caught.value.problems["rule"].tolist()
    assert any("valueString is not accepted" in r for r in rules)
    assert any("not 'mm'" in r for r in rules)
    assert any("no registry patient has this identifier" in r for r in rules)
    assert any("names no study id" in r for r in rules)
    assert any("pain score must be a number from 0 to 10" in r for r in rules)
    assert any("give the timepoint" in r for r in rules)
    assert any("not readable JSON" in r for r in rules)
    assert len(caught.value.problems) == 7
    assert registry_snapshot() == before


def test_identifiers_naming_two_patients_are_refused(registry, tmp_path):
    both = {"resourceType": "Patient", "identifier": [
        {"system": "urn:vertebro:study-id", "value": "P000"},
        {"type": {"coding": [{"code": "MR"}]}, "system": "urn:vertebro:mrn:south", "value": "MRN-3"},
    ]}
    observation = _observation({"valueInteger": 2}, subject={"reference": "urn:uuid:patient"})
    (tmp_path / "two.json").write_text(json.dumps(_bundle(observation, patient=copy.deepcopy(both))))
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path / "two.json")
    assert caught.value.problems["rule"].tolist() == ["the identifiers name more than one registry patient"]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "preliminary", None])
def test_an_observation_that_is_not_a_result_is_reported_not_imported(registry, tmp_path, status):
    before = registry_snapshot()
    observation = _observation({"valueInteger": 0})
    if status is None:
        del observation["status"]
    else:
        observation["status"] = status
    (tmp_path / "status.json").write_text(json.dumps(_bundle(observation)))
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path / "status.json")
    problems = caught.value.problems
    assert problems["column"].str.endswith("Observation.status").all()
    assert problems["value"].tolist() == [status or "(missing)"]
    assert problems["rule"].str.startswith("only final, amended or corrected Observations are results").all()
    assert registry_snapshot() == before


def test_an_mrn_from_another_hospital_does_not_match(registry, tmp_path):
    before = registry_snapshot()
    foreign = {"resourceType": "Patient", "identifier": [
        {"type": {"coding": [{"code": "MR"}]}, "system": "http://some-other-hospital.example/mrn", "value": "MRN-3"},
    ]}
    observation = _observation({"valueInteger": 2}, subject={"reference": "urn:uuid:patient"})
    (tmp_path / "foreign.json").write_text(json.dumps(_bundle(observation, patient=foreign)))
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path / "foreign.json")
    assert caught.value.problems["rule"].tolist() == [
        "an MRN matches only under a system of the patient's site; this one is issued under http://some-other-hospital.example/mrn, "
        "and patient P003's site south issues its MRNs under urn:vertebro:mrn:south "
        "(add the hospital's system with `vertebro site set south --mrn-system URI`)"
    ]
    assert registry_snapshot() == before


def test_an_observation_more_than_30_days_before_the_procedure_is_reported_never_imported(registry, tmp_path):
    before = registry_snapshot()
    (tmp_path / "early.json").write_text(json.dumps(_bundle(_observation({"valueInteger": 6}, date="2019-10-09"))))  # day -93
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path)
    problems = caught.value.problems
    assert len(problems) == 1 and "more than 30 days before its procedure" in problems["rule"].iloc[0]
    assert "Observation.effectiveDateTime" in problems["column"].iloc[0]
    assert registry_snapshot() == before
