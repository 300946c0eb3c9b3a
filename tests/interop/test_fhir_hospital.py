"""FHIR from outside vertebro: Synthea-shaped Bundles (a hospital's MRN system, MR-typed identifiers
beside SSN and driver's licence ones, decimal values, observations years apart, unrelated resources),
matched to the registry through the site's configured MRN systems; exports write the first system."""

from __future__ import annotations

import json

import pytest

from vertebro.interop.export import export_registry
from vertebro.interop.fhir_import import import_fhir_path
from vertebro.interop.problems import ImportRejected
from vertebro.registry.models import ImportBatch, PainAssessment, Site
from vertebro.registry.services.clinical import site_mrn_systems_set
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import rich_rows
from .registry_snapshot import registry_snapshot

HOSPITAL = "http://hospital.example.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.fixture
def registry(db):
    batch = ImportBatch.objects.create(file_name="seed.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=rich_rows(), import_batch=batch)  # P003 at south holds MRN-3 (procedure 2020-01-10)


def _synthea_patient(mrn: str, *, system: str = HOSPITAL) -> dict:
    """A Patient as Synthea writes it: its own id system, an MR-typed MRN, then SSN and DL identifiers."""
    return {
        "resourceType": "Patient", "id": "a1b2",
        "identifier": [
            {"system": "https://github.com/synthetichealth/synthea", "value": "a1b2-uuid"},
            {"type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical Record Number"}], "text": "Medical Record Number"},
             "system": system, "value": mrn},
            {"type": {"coding": [{"system": V2_0203, "code": "SS", "display": "Social Security Number"}]},
             "system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-12-3456"},
            {"type": {"coding": [{"system": V2_0203, "code": "DL"}]}, "system": "urn:oid:2.16.840.1.113883.4.3.25", "value": "S99912345"},
        ],
        "name": [{"use": "official", "family": "Lee", "given": ["Ann"]}], "gender": "female", "birthDate": "1950-02-03",
    }


def _pain(value: float, when: str, *, n: int) -> dict:
    return {"fullUrl": f"urn:uuid:obs-{n}", "resource": {
        "resourceType": "Observation", "id": f"obs-{n}", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
                 "text": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"},
        "subject": {"reference": "urn:uuid:a1b2"}, "encounter": {"reference": "urn:uuid:enc-1"},
        "effectiveDateTime": f"{when}T09:41:12-05:00", "issued": f"{when}T09:41:12.345-05:00",
        "valueQuantity": {"value": value, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"},
    }, "request": {"method": "POST", "url": "Observation"}}


def _synthea_bundle(patient: dict, *observations: dict) -> dict:
    unrelated = [
        {"resourceType": "Encounter", "id": "enc-1", "status": "finished", "class": {"code": "AMB"}, "subject": {"reference": "urn:uuid:a1b2"}},
        {"resourceType": "Condition", "id": "c-1", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "10509002"}]},
         "subject": {"reference": "urn:uuid:a1b2"}},
        {"resourceType": "Claim", "id": "claim-1", "status": "active", "patient": {"reference": "urn:uuid:a1b2"}},
        {"resourceType": "Observation", "id": "bmi", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]},
         "subject": {"reference": "urn:uuid:a1b2"}, "valueQuantity": {"value": 27.1, "unit": "kg/m2"}},
    ]
    entries = [{"fullUrl": "urn:uuid:a1b2", "resource": patient, "request": {"method": "POST", "url": "Patient"}}]
    entries += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in unrelated]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries + list(observations)}


def test_a_hospital_mrn_matches_once_the_site_records_its_system(registry, tmp_path):
    bundle = tmp_path / "Ann_Lee.json"
    bundle.write_text(json.dumps(_synthea_bundle(_synthea_patient("MRN-3"), _pain(3.93, "2020-07-10", n=1), _pain(2.0, "2021-03-01", n=2))))
    before = registry_snapshot()
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=bundle)
    rules = caught.value.problems["rule"].tolist()
    assert len(rules) == 2 and all(f"issued under {HOSPITAL}" in r and "vertebro site set south --mrn-system URI" in r for r in rules)
    assert not caught.value.problems["value"].str.contains("999-12-3456").any()  # the SSN is never repeated
    assert registry_snapshot() == before

    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    outcome = import_fhir_path(path=bundle)
    created = set(PainAssessment.objects.filter(import_batch=outcome.batch).values_list("patient__study_id", "timepoint", "score"))
    assert created == {("P003", "6m", 3.93), ("P003", "12m", 2.0)}  # a decimal value is stored as given


def test_an_identifier_under_a_site_system_matches_without_the_mr_type(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=["urn:oid:1.2.3", HOSPITAL])
    patient = {"resourceType": "Patient", "identifier": [{"system": HOSPITAL, "value": "MRN-3"}]}
    (tmp_path / "b.json").write_text(json.dumps(_synthea_bundle(patient, _pain(4, "2020-07-10", n=1))))
    outcome = import_fhir_path(path=tmp_path / "b.json")
    assert outcome.counts.rows_created == 1


def test_an_untyped_identifier_under_another_system_never_matches(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    patient = {"resourceType": "Patient", "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "MRN-3"}]}
    (tmp_path / "b.json").write_text(json.dumps(_synthea_bundle(patient, _pain(4, "2020-07-10", n=1))))
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=tmp_path / "b.json")
    assert caught.value.problems["rule"].tolist() == ["no registry patient has this identifier"]


def test_export_writes_the_first_system_and_reimports_unchanged(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL, "urn:oid:1.2.3"])
    export_registry(file_format="fhir", out=tmp_path / "out", deidentified=False)
    bundles = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")}
    mrns = {(i["system"], i["value"]) for b in bundles.values() for e in b["entry"] if e["resource"]["resourceType"] == "Patient"
            for i in e["resource"]["identifier"] if i["system"] != "urn:vertebro:study-id"}
    assert (HOSPITAL, "MRN-3") in mrns and ("urn:vertebro:mrn:north", "MRN-1") in mrns  # north has no system: its own urn
    again = import_fhir_path(path=tmp_path / "out")
    assert again.counts.rows_created == 0 and again.counts.rows_updated == 0 and again.counts.rows_unchanged == again.batch.rows_read


def test_a_bulk_export_folder_of_ndjson_imports_as_one_batch(registry, tmp_path):
    from vertebro.interop.fhir_import import ignored_ndjson_files

    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    folder = tmp_path / "export"
    folder.mkdir()
    patient = dict(_synthea_patient("MRN-3"), id="pat-9")
    observations = [_pain(v, when, n=i)["resource"] for i, (v, when) in enumerate([(6, "2020-01-20"), (3.5, "2020-07-10"), (1, "2020-12-01")])]
    for o in observations:
        o["subject"] = {"reference": "Patient/pat-9"}
        del o["encounter"]
    (folder / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    (folder / "Observation.ndjson").write_text("\n".join(json.dumps(o) for o in observations) + "\n")
    (folder / "Condition.ndjson").write_text(json.dumps({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/pat-9"}}) + "\n")
    outcome = import_fhir_path(path=folder)
    assert ImportBatch.objects.filter(file_format="fhir").count() == 1 and outcome.counts.rows_created == 3
    created = set(PainAssessment.objects.filter(import_batch=outcome.batch).values_list("timepoint", "assessed_on__year", "score"))
    assert created == {("1w", 2020, 6.0), ("6m", 2020, 3.5), ("12m", 2020, 1.0)}
    assert ignored_ndjson_files(folder) == ["Condition.ndjson (Condition)"]


def test_a_bad_line_of_an_ndjson_folder_is_named_and_nothing_is_written(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(dict(_synthea_patient("MRN-3"), id="pat-9")) + "\n")
    good, bad = (_pain(v, "2020-07-10", n=i)["resource"] for i, v in enumerate((4, 11)))
    for o in (good, bad):
        o["subject"] = {"reference": "Patient/pat-9"}
    bad["effectiveDateTime"] = "2020-12-01"
    (folder / "Observation.ndjson").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    before = registry_snapshot()
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=folder)
    problem = caught.value.problems.iloc[0]
    assert len(caught.value.problems) == 1 and problem["column"] == "Observation.ndjson line 2: Observation.value"
    assert problem["value"] == "11.0" and "from 0 to 10" in problem["rule"]
    assert registry_snapshot() == before


def test_observations_outside_every_window_are_reported_then_imported_as_unscheduled_on_request(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    bundle = tmp_path / "years.json"
    late = [_pain(5, "2023-03-15", n=1), _pain(2.25, "2024-09-01", n=2)]  # days 1160 and 1696 from 2020-01-10
    bundle.write_text(json.dumps(_synthea_bundle(_synthea_patient("MRN-3"), *late, _pain(4, "2020-07-10", n=3))))
    before = registry_snapshot()
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=bundle)
    problems = caught.value.problems
    assert problems["value"].tolist() == ["2023-03-15", "2024-09-01"]
    assert problems["rule"].iloc[0].startswith("assessed on 2023-03-15, day 1160 from the procedure of 2020-01-10: outside every timepoint window")
    assert "--unscheduled" in problems["rule"].iloc[1] and "day 1696" in problems["rule"].iloc[1]
    assert registry_snapshot() == before
    outcome = import_fhir_path(path=bundle, unscheduled=True)
    created = set(PainAssessment.objects.filter(import_batch=outcome.batch).values_list("timepoint", "assessed_on__year", "score"))
    assert created == {("unscheduled", 2023, 5.0), ("unscheduled", 2024, 2.25), ("6m", 2020, 4.0)}


def test_an_observation_before_day_minus_30_is_refused_even_with_unscheduled(registry, tmp_path):
    site_mrn_systems_set(site=Site.objects.get(code="south"), systems=[HOSPITAL])
    bundle = tmp_path / "early.json"
    bundle.write_text(json.dumps(_synthea_bundle(_synthea_patient("MRN-3"), _pain(7, "2017-05-02", n=1))))
    with pytest.raises(ImportRejected) as caught:
        import_fhir_path(path=bundle, unscheduled=True)
    rule = caught.value.problems["rule"].tolist()
    assert len(rule) == 1 and rule[0].startswith("assessed on 2017-05-02, day -983 from the procedure of 2020-01-10: a score more than 30 days")


def test_a_decimal_score_in_a_csv_is_stored_as_given(db, tmp_path):
    """The same decimal policy as FHIR and the web form: stored as given."""
    from vertebro.interop.importer import import_flat_file

    from .flat_rows import flat_rows

    frame = flat_rows(1)
    frame.loc[1, "vps"] = "3.93"
    frame.to_csv(tmp_path / "decimal.csv", index=False)
    import_flat_file(path=tmp_path / "decimal.csv")
    assert set(PainAssessment.objects.values_list("timepoint", "score")) == {("baseline", 8.0), ("post", 3.93), ("1m", 3.0), ("3m", 5.0)}
