"""Exports: spreadsheet safety, labels, types, the export log, and round trips to the same registry."""

from __future__ import annotations

import zipfile

import pandas as pd
import pyreadstat
import pytest

from vertebro.interop.export import export_registry
from vertebro.interop.importer import import_flat_file
from vertebro.interop.redcap_import import import_redcap_file
from vertebro.interop.redcap_project import write_dictionary
from vertebro.registry.models import ExportLog, ImportBatch
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import rich_rows
from .registry_snapshot import registry_snapshot, registry_wipe


@pytest.fixture
def registry(db):
    batch = ImportBatch.objects.create(file_name="seed.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=rich_rows(), import_batch=batch)
    return registry_snapshot()


def test_csv_neutralises_formula_text_and_keeps_numbers(registry, tmp_path):
    out = tmp_path / "registry.csv"
    export_registry(file_format="csv", out=out)
    text = out.read_text()
    assert "'=HYPERLINK" in text and "'+4471" in text and "'@Bob" in text
    assert ",-2," in text and ",-25," in text  # negative days stay numbers
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    starts = raw.apply(lambda col: col.str.match(r"^[=+@\t\r]")).to_numpy().any()
    assert not starts
    assert set(raw.loc[raw["days"].str.startswith("-"), "days"]) == {"-2", "-25"}


def test_xlsx_text_cells_are_text_and_numbers_numbers(registry, tmp_path):
    out = tmp_path / "registry.xlsx"
    export_registry(file_format="xlsx", out=out)
    from openpyxl import load_workbook

    sheet = load_workbook(out).worksheets[0]
    header = [c.value for c in sheet[1]]
    cells = {(header[c.column - 1], r): c for r, row in enumerate(sheet.iter_rows(min_row=2)) for c in row}
    names = [c for (col, _), c in cells.items() if col == "name" and c.value]
    assert all(c.data_type == "s" for c in names)
    formula_like = [c for c in names if c.value == "=HYPERLINK(\"http://x\")"]  # the value itself, unchanged
    assert formula_like and all(c.quotePrefix for c in formula_like)  # Excel keeps it text even when edited
    assert not any(c.quotePrefix for c in names if c.value == "Ann Lee")
    assert all(isinstance(c.value, int) for (col, _), c in cells.items() if col == "days")
    assert all(c.number_format == "YYYY-MM-DD" for (col, _), c in cells.items() if col == "assessed_on")
    with zipfile.ZipFile(out) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()  # no formula anywhere


def test_stata_and_spss_carry_variable_and_value_labels(registry, tmp_path):
    for suffix, reader in (("dta", pyreadstat.read_dta), ("sav", pyreadstat.read_sav)):
        out = tmp_path / f"registry.{suffix}"
        export_registry(file_format=suffix, out=out)
        data, meta = reader(str(out))
        assert meta.column_names_to_labels["vps"] == "Pain score 0-10 (visual pain scale)"
        assert meta.variable_value_labels["sex"] == {1: "Female", 2: "Male"}
        assert meta.variable_value_labels["timepoint"][4] == "1 month"
        assert meta.variable_value_labels["recurrent_pain"] == {0: "No", 1: "Yes"}
        assert sorted(data["sex"].dropna().unique()) == [1.0, 2.0]
        assert len(data) == len(registry["pain"])


def test_parquet_keeps_types(registry, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "registry.parquet"
    export_registry(file_format="parquet", out=out)
    schema = pq.read_schema(out)
    assert str(schema.field("procedure_date").type) == "date32[day]"
    assert str(schema.field("assessed_on").type) == "date32[day]"
    assert str(schema.field("age").type) == "int64" and str(schema.field("days").type) == "int64"
    assert str(schema.field("vps").type) == "double" and str(schema.field("patient_id").type) == "string"


def test_every_export_is_logged(registry, tmp_path):
    for i, file_format in enumerate(("csv", "xlsx", "parquet", "dta", "sav", "fhir", "redcap")):
        export_registry(file_format=file_format, out=tmp_path / f"out{i}.{file_format}", deidentified=bool(i % 2), os_user="ana")
    logs = list(ExportLog.objects.order_by("id").values_list("file_format", "deidentified", "os_user", "rows"))
    assert [f for f, *_ in logs] == ["csv", "xlsx", "parquet", "dta", "sav", "fhir", "redcap"]
    assert [d for _, d, *_ in logs] == [False, True, False, True, False, True, False]
    assert all(user == "ana" and rows > 0 for *_, user, rows in logs)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_flat_export_reimports_to_an_identical_registry(registry, tmp_path, suffix):
    out = tmp_path / f"registry.{suffix}"
    export_registry(file_format=suffix, out=out)
    registry_wipe()
    assert registry_snapshot()["pain"] == []
    outcome = import_flat_file(path=out)
    assert outcome.problems.empty
    assert registry_snapshot() == registry


def test_redcap_export_reimports_to_an_identical_registry(registry, tmp_path):
    dictionary = write_dictionary(tmp_path / "DD.csv")[0]
    out = tmp_path / "records.csv"
    export_registry(file_format="redcap", out=out)
    registry_wipe()
    import_redcap_file(path=out, dictionary=dictionary)
    assert registry_snapshot() == registry
    again = import_redcap_file(path=out, dictionary=dictionary)
    assert again.counts.rows_created == again.counts.rows_updated == 0
