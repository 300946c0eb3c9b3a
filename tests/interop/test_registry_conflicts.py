"""An import against what the registry already holds: values are updated with history, but a file never
moves a patient to another site, adds a second procedure, changes which levels were treated, or
contradicts the age; a blank levels cell keeps the recorded levels. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

from vertebro.domain.errors import DomainError
from vertebro.interop.importer import import_flat_file
from vertebro.interop.problems import ImportRejected
from vertebro.registry.models import Fracture, ImportBatch, Patient
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import flat_rows
from .registry_snapshot import registry_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(tmp_path):
    """Three patients imported from a file: P000 (north, L2), P001 (south, T12;L1), P002 (north, L2)."""
    import_flat_file(path=_write(tmp_path, flat_rows(3), "first.csv"))
    return registry_snapshot()


def _write(tmp_path, frame, name="second.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _refused(tmp_path, frame, **options):
    with pytest.raises(ImportRejected) as caught:
        import_flat_file(path=_write(tmp_path, frame), **options)
    return caught.value.problems


def test_a_file_cannot_move_a_patient_to_another_site(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P001", "site"] = "north"
    problems = _refused(tmp_path, frame)
    assert list(problems["line"]) == [6, 7, 8, 9]  # every line of P001
    assert set(problems["column"]) == {"site"} and set(problems["value"]) == {"north"}
    assert problems["rule"].iloc[0] == "patient P001 is registered at south; an import does not move patients between sites"
    assert registry_snapshot() == registered
    assert ImportBatch.objects.order_by("-id").first().status == "rejected"


def test_the_site_option_cannot_take_over_another_sites_patient(registered, tmp_path):
    frame = flat_rows(3).drop(columns="site")
    frame = frame[frame["patient_id"] == "P001"]
    problems = _refused(tmp_path, frame, site="north")
    assert set(problems["column"]) == {"site"}
    assert Patient.objects.get(study_id="P001").site.code == "south"


def test_skip_invalid_skips_the_conflicting_patient_whole_and_imports_the_rest(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P001", "site"] = "north"
    frame.loc[frame["patient_id"] == "P000", "vps"] = "7"
    outcome = import_flat_file(path=_write(tmp_path, frame), skip_invalid=True)
    assert outcome.skipped_lines == [6, 7, 8, 9]
    assert Patient.objects.get(study_id="P001").site.code == "south"
    assert set(Patient.objects.get(study_id="P000").pain_assessments.values_list("score", flat=True)) == {7.0}


def test_a_different_procedure_date_is_refused_not_added_as_a_second_procedure(registered, tmp_path):
    frame = flat_rows(3)
    moved = frame["patient_id"] == "P002"  # the whole schedule one day earlier
    frame.loc[moved, "procedure_date"] = "2020-01-09"
    frame.loc[moved, "assessed_on"] = (pd.to_datetime(frame.loc[moved, "assessed_on"]) - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    problems = _refused(tmp_path, frame)
    assert set(problems["column"]) == {"procedure_date"} and set(problems["value"]) == {"2020-01-09"}
    assert problems["rule"].iloc[0].startswith("the registry holds patient P002's procedure on 2020-01-10; an import adds no second procedure")
    assert registry_snapshot() == registered


def test_changed_levels_are_refused(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P000", "levels"] = "L3"
    problems = _refused(tmp_path, frame)
    assert set(problems["column"]) == {"levels"} and set(problems["value"]) == {"L3"}
    assert problems["rule"].iloc[0].startswith("the registry records L2 for this procedure; an import does not change which levels")
    assert registry_snapshot() == registered


def test_the_same_levels_in_another_order_are_the_same_levels(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P001", "levels"] = "L1, T12"
    outcome = import_flat_file(path=_write(tmp_path, frame))
    assert outcome.counts.rows_unchanged == 12
    assert registry_snapshot() == registered


def test_blank_levels_keep_the_recorded_fractures(registered, tmp_path):
    frame = flat_rows(3).drop(columns=["levels", "cement_ml"])
    outcome = import_flat_file(path=_write(tmp_path, frame))
    assert outcome.counts.rows_unchanged == 12
    assert outcome.counts.records["fractures"] == (0, 0, 4)
    assert registry_snapshot() == registered


def test_an_etiology_corrected_without_levels_updates_the_recorded_fractures_with_history(registered, tmp_path):
    frame = flat_rows(3).drop(columns=["levels", "cement_ml"])
    frame.loc[frame["patient_id"] == "P001", "etiology"] = "pathologic"
    import_flat_file(path=_write(tmp_path, frame))
    fractures = Fracture.objects.filter(patient__study_id="P001")
    assert sorted(fractures.values_list("level", "etiology", "pathologic_cause")) == [
        ("L1", "pathologic", "unspecified"), ("T12", "pathologic", "unspecified")
    ]
    reasons = [h.history_change_reason for f in fractures for h in f.history.filter(history_type="~")]
    assert len(reasons) == 2 and all("etiology: osteoporotic → pathologic" in r for r in reasons)


def test_a_new_cement_total_without_levels_is_shared_by_the_recorded_levels(registered, tmp_path):
    frame = flat_rows(3).drop(columns=["levels"])
    frame.loc[frame["patient_id"] == "P001", "cement_ml"] = "8.0"
    import_flat_file(path=_write(tmp_path, frame))
    treated = Patient.objects.get(study_id="P001").procedures.get().treated_levels
    assert sorted(treated.values_list("fracture__level", "cement_ml")) == [("L1", 4.0), ("T12", 4.0)]


def test_an_age_contradicting_the_recorded_birth_date_is_refused(tmp_path):
    frame = flat_rows(1)
    frame["birth_date"] = "1950-03-01"
    frame["age"] = "69"
    import_flat_file(path=_write(tmp_path, frame, "first.csv"))
    later = flat_rows(1)
    later["age"] = "75"
    problems = _refused(tmp_path, later)
    assert set(problems["column"]) == {"age"} and set(problems["value"]) == {"75"}
    assert problems["rule"].iloc[0] == "the registry's birth date 1950-03-01 gives age 69 at the procedure; correct one of them"


def test_a_birth_date_contradicting_the_recorded_age_is_refused(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P000", "age"] = ""
    frame["birth_date"] = ""
    frame.loc[frame["patient_id"] == "P000", "birth_date"] = "1980-01-01"
    problems = _refused(tmp_path, frame)
    assert set(problems["column"]) == {"birth_date"}
    assert problems["rule"].iloc[0] == "the registry records age 60 at the procedure; this birth date gives 40; correct one of them"
    assert registry_snapshot() == registered


def test_a_birth_date_agreeing_with_the_recorded_age_is_added(registered, tmp_path):
    frame = flat_rows(3)
    frame["birth_date"] = ""
    frame.loc[frame["patient_id"] == "P000", ["age", "birth_date"]] = ["", "1959-06-01"]
    import_flat_file(path=_write(tmp_path, frame))
    assert str(Patient.objects.get(study_id="P000").birth_date) == "1959-06-01"


def test_the_write_service_itself_refuses_a_conflicting_frame(registered):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P001", "site"] = "north"
    batch = ImportBatch.objects.create(file_name="direct", file_sha256="0" * 64, file_format="csv")
    with pytest.raises(DomainError, match="line 6: patient P001 is registered at south"):
        flat_frame_import(frame=frame, import_batch=batch)
    assert registry_snapshot() == registered


def test_a_site_the_registry_does_not_have_is_refused_once_it_has_sites(registered, tmp_path):
    frame = flat_rows(4)  # P003 is new
    frame.loc[frame["patient_id"] == "P003", "site"] = "sotuh"  # a typo
    problems = _refused(tmp_path, frame)
    assert list(problems["line"]) == [14, 15, 16, 17] and set(problems["value"]) == {"sotuh"}
    assert problems["rule"].iloc[0] == (
        "the registry has no site sotuh (it has north, south): add it with `vertebro site add sotuh \"Full name\"` first, or correct the code"
    )
    assert registry_snapshot() == registered


def test_the_first_import_into_an_empty_registry_creates_its_sites(tmp_path):
    outcome = import_flat_file(path=_write(tmp_path, flat_rows(2), "first.csv"))
    assert outcome.counts.records["sites"] == (2, 0, 0)


def test_a_birth_date_that_arrives_replaces_the_recorded_age_and_the_old_file_still_imports(registered, tmp_path):
    frame = flat_rows(3)
    frame["birth_date"] = ""
    frame.loc[frame["patient_id"] == "P000", ["age", "birth_date"]] = ["60", "1959-06-01"]  # both, agreeing
    import_flat_file(path=_write(tmp_path, frame))
    patient = Patient.objects.get(study_id="P000")
    assert (str(patient.birth_date), patient.age_at_index) == ("1959-06-01", None)  # the age now follows from it
    again = import_flat_file(path=_write(tmp_path, flat_rows(3), "first-again.csv"))  # the age-only file
    assert again.counts.rows_unchanged == 12


def test_ages_are_checked_at_the_index_procedure_not_a_later_one(registered, tmp_path):
    from datetime import date

    from vertebro.registry.services.clinical import fracture_create, procedure_create

    patient = Patient.objects.get(study_id="P000")  # age 60 at the index procedure, 2020-01-10
    later = date(2021, 3, 1)
    procedure_create(patient=patient, performed_on=later, treated=[(fracture_create(patient=patient, level="L4", etiology="osteoporotic"), 3.0)])
    frame = flat_rows(1, procedure_date=later)
    frame["birth_date"] = "1959-06-01"  # 60 on 2020-01-10, 61 on 2021-03-01
    frame["age"] = ""
    frame["levels"] = "L4"
    frame["cement_ml"] = "3.0"
    import_flat_file(path=_write(tmp_path, frame))
    assert str(Patient.objects.get(study_id="P000").birth_date) == "1959-06-01"


def test_the_import_says_which_fields_it_changed(registered, tmp_path):
    frame = flat_rows(3)
    frame.loc[frame["patient_id"] == "P001", ["sex", "age"]] = ["M", "75"]
    frame.loc[frame["patient_id"] == "P001", "etiology"] = "pathologic"
    frame.loc[frame.index[0], "vps"] = "9"
    outcome = import_flat_file(path=_write(tmp_path, frame))
    assert outcome.counts.changed_fields == {
        "fracture.etiology": 2, "fracture.pathologic_basis": 2, "fracture.pathologic_cause": 2,
        "painassessment.score": 1, "patient.age_at_index": 1, "patient.sex": 1,
    }


def _registered_in_the_app(*, birth_date=None, checklist_on=None) -> Patient:  # noqa: ANN001
    from datetime import date

    from vertebro.registry.services.clinical import eligibility_record, patient_create, site_create

    site = site_create(code="north", name="North")
    patient = patient_create(study_id="P000", site=site, sex="M", birth_date=birth_date, age_at_index=None if birth_date else 60)
    if checklist_on:
        eligibility_record(patient=patient, assessed_on=checklist_on, indications=["osteoporotic_refractory"], absolute=[], relative=[])
    assert date(2020, 1, 10) == date.fromisoformat(flat_rows(1).loc[0, "procedure_date"])
    return patient


def test_a_procedure_before_the_recorded_birth_date_is_refused(tmp_path):
    from datetime import date

    _registered_in_the_app(birth_date=date(2021, 1, 1))
    before = registry_snapshot()
    problems = _refused(tmp_path, flat_rows(1))
    assert "the procedure date lies before the patient's date of birth (2021-01-01, recorded in the registry)" in set(problems["rule"])
    assert registry_snapshot() == before


def test_a_procedure_before_the_recorded_eligibility_checklist_is_refused(tmp_path):
    from datetime import date

    _registered_in_the_app(checklist_on=date(2020, 2, 1))
    problems = _refused(tmp_path, flat_rows(1))
    rules = problems.loc[problems["column"] == "procedure_date", "rule"]
    assert set(rules) == {"the procedure date lies before the patient's first eligibility checklist (2020-02-01, recorded in the registry)"}
    assert len(rules) == 4  # every line of the patient, so --skip-invalid skips the patient whole
