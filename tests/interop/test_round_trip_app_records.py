"""Records entered in the app carry more than the flat format can say (an etiology per fracture, the
cement per level, a fracture whose level is not recorded). Exporting them and importing the export
back, in every format that re-imports, must change nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from vertebro.interop.export import export_registry
from vertebro.interop.fhir_import import import_fhir_path
from vertebro.interop.importer import import_flat_file
from vertebro.interop.redcap_import import import_redcap_file
from vertebro.interop.redcap_project import write_dictionary
from vertebro.registry.models import Patient, Site
from vertebro.registry.services.clinical import (
    fracture_create,
    pain_assessment_record,
    patient_create,
    procedure_create,
)

from .flat_rows import flat_rows
from .registry_snapshot import registry_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_records(tmp_path):
    """Imported patients, plus two entered in the app with mixed fractures."""
    first = tmp_path / "first.csv"
    flat_rows(2).to_csv(first, index=False)
    import_flat_file(path=first)
    north = Site.objects.get(code="north")
    mixed = patient_create(study_id="WEB001", site=north, sex="F", age_at_index=71)
    procedure = procedure_create(
        patient=mixed,
        performed_on=date(2021, 5, 4),
        treated=[
            (fracture_create(patient=mixed, level="T9", etiology="osteoporotic"), 3.0),
            (fracture_create(patient=mixed, level="L1", etiology="pathologic", pathologic_cause="myeloma", pathologic_basis="biopsy"), 2.0),
        ],
    )
    pain_assessment_record(procedure=procedure, assessed_on=date(2021, 5, 3), score=8, timepoint="baseline")
    pain_assessment_record(procedure=procedure, assessed_on=date(2021, 5, 5), score=3, timepoint="post", after_procedure=True)
    levelless = patient_create(study_id="WEB002", site=north, sex="M", age_at_index=66)
    procedure = procedure_create(
        patient=levelless,
        performed_on=date(2021, 6, 1),
        treated=[
            (fracture_create(patient=levelless, level="T9", etiology="osteoporotic"), 3.0),
            (fracture_create(patient=levelless, level=None, etiology="osteoporotic"), 2.0),
        ],
    )
    pain_assessment_record(procedure=procedure, assessed_on=date(2021, 5, 31), score=7, timepoint="baseline")
    return registry_snapshot()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_flat_export_of_app_records_reimports_changing_nothing(app_records, tmp_path, file_format):
    out = tmp_path / f"registry.{file_format}"
    export_registry(file_format=file_format, out=out)
    outcome = import_flat_file(path=out)
    assert outcome.counts.rows_updated == 0 and outcome.counts.rows_created == 0
    assert registry_snapshot() == app_records


def test_a_fhir_export_of_app_records_reimports_changing_nothing(app_records, tmp_path):
    export_registry(file_format="fhir", out=tmp_path / "bundles")
    import_fhir_path(path=tmp_path / "bundles")
    assert registry_snapshot() == app_records


def test_a_redcap_export_of_app_records_reimports_changing_nothing(app_records, tmp_path):
    export_registry(file_format="redcap", out=tmp_path / "records.csv")
    import_redcap_file(path=tmp_path / "records.csv", dictionary=write_dictionary(tmp_path / "DD.csv")[0])
    assert registry_snapshot() == app_records


def test_an_export_says_how_many_later_procedures_it_leaves_out(app_records, tmp_path):
    patient = Patient.objects.get(study_id="WEB001")
    later = procedure_create(patient=patient, performed_on=date(2022, 1, 10),
                             treated=[(fracture_create(patient=patient, level="L3", etiology="osteoporotic"), 2.5)])
    pain_assessment_record(procedure=later, assessed_on=date(2022, 1, 9), score=6, timepoint="baseline")
    result = export_registry(file_format="csv", out=tmp_path / "registry.csv")
    assert result.later_procedures == 1
    assert "2022-01-10" not in (tmp_path / "registry.csv").read_text()


def _reimport_edited(tmp_path, edit) -> None:  # noqa: ANN001
    out = tmp_path / "registry.csv"
    export_registry(file_format="csv", out=out)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(out, index=False)
    import_flat_file(path=out)


def _fractures(study_id: str) -> list[tuple]:
    from vertebro.registry.models import TreatedLevel

    return sorted(TreatedLevel.objects.filter(procedure__patient__study_id=study_id).values_list(
        "fracture__level", "fracture__etiology", "fracture__pathologic_cause", "cement_ml"), key=str)


def test_a_corrected_cause_changes_the_pathologic_fracture_only(app_records, tmp_path):
    def edit(frame):
        frame.loc[frame["patient_id"] == "WEB001", "pathologic_cause"] = "metastasis"

    _reimport_edited(tmp_path, edit)
    assert _fractures("WEB001") == [("L1", "pathologic", "metastasis", 2.0), ("T9", "osteoporotic", None, 3.0)]


def test_a_new_cement_total_is_shared_by_every_level_the_level_less_one_included(app_records, tmp_path):
    def edit(frame):
        frame.loc[frame["patient_id"] == "WEB002", "cement_ml"] = "6.0"  # was 5.0: T9 3.0 + a level not recorded 2.0

    _reimport_edited(tmp_path, edit)
    assert _fractures("WEB002") == [("T9", "osteoporotic", None, 3.0), (None, "osteoporotic", None, 3.0)]


def test_naming_the_level_less_fracture_in_a_file_is_refused_with_the_reason(app_records, tmp_path):
    from vertebro.interop.problems import ImportRejected

    def edit(frame):
        frame.loc[frame["patient_id"] == "WEB002", "levels"] = "T9;L2"

    with pytest.raises(ImportRejected) as caught:
        _reimport_edited(tmp_path, edit)
    assert caught.value.problems["rule"].iloc[0].startswith(
        "the registry records T9 (and a fracture whose level is not recorded, which an import does not name) for this procedure"
    )
