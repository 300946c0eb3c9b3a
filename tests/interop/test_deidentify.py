"""De-identified exports: plant every kind of identifier in a registry, scan every format for traces."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from vertebro.interop.deidentify import keyed_hash, top_code_ages
from vertebro.interop.export import FORMATS, export_registry
from vertebro.registry.models import ImportBatch
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import flat_rows

STUDY_IDS = ("STUDY-ALPHA-0001", "STUDY-BRAVO-0002")
NAMES = ("Zebulon Quixote", "Philippa Marchbanks")
MRNS = ("MRN-4471-XQ", "MRN-9902-ZK")
BIRTH_DATES = ("1925-05-06", "1950-11-23")  # the first is 94 at the procedure: must read 90
PROCEDURE = "2020-01-10"
IDENTIFIER_COLUMNS = {"name", "mrn", "birth_date", "procedure_date", "assessed_on", "pain_date"}


def _planted() -> pd.DataFrame:
    frame = flat_rows(2)
    frame["patient_id"] = frame["patient_id"].map({"P000": STUDY_IDS[0], "P001": STUDY_IDS[1]})
    frame["name"] = frame["patient_id"].map(dict(zip(STUDY_IDS, NAMES)))
    frame["mrn"] = frame["patient_id"].map(dict(zip(STUDY_IDS, MRNS)))
    frame["birth_date"] = frame["patient_id"].map(dict(zip(STUDY_IDS, BIRTH_DATES)))
    frame["age"] = frame["patient_id"].map({STUDY_IDS[0]: "94", STUDY_IDS[1]: "69"})
    return frame


#: Free text typed into every free-text field (domain.privacy.POSSIBLY_IDENTIFYING): never exported de-identified.
FREE_TEXT = {"operator": "Dr Octavius Wrenfield", "primary_site": "lung (Wrenfield Clinic)",
             "notes": "leak seen by Octavius at home", "override_reason": "insisted, lives on Larkspur Lane"}


def _plant_free_text() -> None:
    from datetime import date

    from vertebro.registry.models import Fracture, Procedure
    from vertebro.registry.services.clinical import complication_create, eligibility_override, eligibility_record

    procedure = Procedure.objects.order_by("id").first()
    Procedure.objects.filter(pk=procedure.pk).update(operator=FREE_TEXT["operator"])
    Fracture.objects.filter(etiology="pathologic").update(primary_site=FREE_TEXT["primary_site"])
    complication_create(procedure=procedure, kind="cement_leak", leak_route="disc", notes=FREE_TEXT["notes"])
    checklist = eligibility_record(patient=procedure.patient, assessed_on=date(2020, 1, 9), indications=["osteoporotic_refractory"],
                                   absolute=["coagulopathy"], relative=[])
    eligibility_override(assessment=checklist, reason=FREE_TEXT["override_reason"], user=None)


def _date_spellings(iso: str) -> list[str]:
    y, m, d = iso.split("-")
    return [iso, f"{y}{m}{d}", f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}"]


def _forbidden(frame: pd.DataFrame) -> list[str]:
    dates = set(BIRTH_DATES) | {PROCEDURE} | set(frame["assessed_on"])
    words = list(STUDY_IDS) + list(NAMES) + [n.split()[1] for n in NAMES] + list(MRNS)
    words += list(FREE_TEXT.values()) + ["Octavius", "Wrenfield", "Larkspur"]
    return words + [s for iso in sorted(dates) for s in _date_spellings(iso)]


def _text_of(path: Path, file_format: str) -> tuple[str, list[pd.DataFrame]]:
    """Everything a reader of the output could see: raw text and the tables it decodes to."""
    if file_format == "fhir":
        texts = [p.read_text() for p in sorted(path.glob("*.json"))] + [p.name for p in path.glob("*.json")]
        return "\n".join(texts), []
    if file_format in ("csv", "redcap"):
        return path.read_text(), [pd.read_csv(path, dtype=str, keep_default_na=False)]
    if file_format == "xlsx":
        with zipfile.ZipFile(path) as archive:
            text = "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if not n.startswith("docProps"))
        return text, list(pd.read_excel(path, sheet_name=None).values())
    if file_format == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return str(table.schema.metadata) + path.read_bytes().decode("latin-1"), [table.to_pandas()]
    data, meta = (pyreadstat.read_dta if file_format == "dta" else pyreadstat.read_sav)(str(path))
    return json.dumps([meta.column_names_to_labels, meta.variable_value_labels], default=str) + path.read_bytes().decode("latin-1"), [data]


@pytest.mark.parametrize("file_format", FORMATS)
def test_deidentified_export_holds_no_trace_of_any_identifier(db, tmp_path, file_format):
    frame = _planted()
    batch = ImportBatch.objects.create(file_name="phi.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=frame, import_batch=batch)
    _plant_free_text()
    out = tmp_path / ("bundles" if file_format == "fhir" else f"deid.{file_format}")
    export_registry(file_format=file_format, out=out, deidentified=True)
    text, tables = _text_of(out, file_format)
    for secret in _forbidden(frame):
        assert secret.casefold() not in text.casefold(), f"{secret!r} leaked into the {file_format} export"
    for table in tables:
        for column in table.columns:
            assert column not in IDENTIFIER_COLUMNS, f"{column} kept in the {file_format} export"
            assert not pd.api.types.is_datetime64_any_dtype(table[column]), f"{column} holds dates"
            values = set(table[column].dropna().astype(str))
            assert not values & set(_forbidden(frame)), column
        if "age" in table:
            assert pd.to_numeric(table["age"], errors="coerce").max() == 90
    expected_ids = {keyed_hash(s, secret=_secret()) for s in STUDY_IDS}
    assert all(h in text for h in expected_ids)  # the keyed hash replaces each study id


def _secret() -> str:
    from django.conf import settings

    return settings.DEID_SECRET


def test_keyed_hash_depends_on_the_secret_and_is_stable():
    assert keyed_hash("P1", secret="a") == keyed_hash("P1", secret="a")
    assert keyed_hash("P1", secret="a") != keyed_hash("P1", secret="b")
    assert keyed_hash("P1", secret="a") != keyed_hash("P2", secret="a")


def test_ages_over_89_are_reported_as_90():
    assert top_code_ages(pd.Series([89, 90, 95, None], dtype="Int64")).tolist() == [89, 90, 90, pd.NA]


def test_the_scan_finds_identifiers_in_an_identified_export(db, tmp_path):
    """The scan above is able to fail: an identified export trips it."""
    frame = _planted()
    batch = ImportBatch.objects.create(file_name="phi.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=frame, import_batch=batch)
    out = tmp_path / "identified.csv"
    export_registry(file_format="csv", out=out, deidentified=False)
    text, _ = _text_of(out, "csv")
    leaked = [s for s in _forbidden(frame) if s.casefold() in text.casefold()]
    assert set(STUDY_IDS) | set(MRNS) | {PROCEDURE} <= set(leaked)
