"""Exports that neither lose nor overwrite a patient, nor hand a spreadsheet a formula: distinct FHIR
file names for study ids that one naive name would merge, no write into a folder that holds files,
REDCap text cells neutralised yet read back by the REDCap import, and site codes kept plain."""

from __future__ import annotations

import csv
import json

import pytest

from vertebro.domain.errors import DomainError
from vertebro.errors import VertebroError
from vertebro.interop.export import export_registry
from vertebro.interop.fhir_export import bundle_file_names
from vertebro.interop.redcap_import import import_redcap_file
from vertebro.interop.redcap_project import write_dictionary
from vertebro.registry.models import ExportLog, ImportBatch, Site
from vertebro.registry.services.clinical import site_create
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import flat_rows, rich_rows
from .registry_snapshot import registry_snapshot

COLLIDING = ("COL/1", "COL_1", "COL 1", "COL:1")


def _import(frame) -> None:  # noqa: ANN001
    flat_frame_import(frame=frame, import_batch=ImportBatch.objects.create(file_name="seed.csv", file_sha256="0" * 64, file_format="csv"))


def test_study_ids_one_file_name_would_merge_get_a_bundle_each(db, tmp_path):
    frame = flat_rows(4)
    _import(frame.assign(patient_id=frame["patient_id"].map(dict(zip(sorted(frame["patient_id"].unique()), COLLIDING)))))
    out = tmp_path / "bundles"
    export_registry(file_format="fhir", out=out)
    files = sorted(out.glob("*.json"))
    assert len(files) == 4 and (out / "COL_1.json").exists()  # an id that is a safe name keeps it
    ids = {json.loads(f.read_text())["entry"][0]["resource"]["identifier"][0]["value"] for f in files}
    assert ids == set(COLLIDING)


def test_names_differing_only_by_case_do_not_collide_on_a_case_blind_disk():
    names = bundle_file_names(["vp1", "VP1", "VP2"])
    assert len({n.casefold() for n in names.values()}) == 3 and names["VP2"] == "VP2.json"


def test_a_fhir_export_never_writes_into_a_folder_that_holds_files(db, tmp_path):
    _import(flat_rows(2))
    out = tmp_path / "bundles"
    export_registry(file_format="fhir", out=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(VertebroError, match=r"already holds 2 file\(s\).*choose another --out"):
        export_registry(file_format="fhir", out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert ExportLog.objects.count() == 1  # the refused export wrote nothing and logged nothing
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(VertebroError, match="is a file"):
        export_registry(file_format="fhir", out=tmp_path / "a-file")


def _cells(path) -> list[dict[str, str]]:  # noqa: ANN001
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_redcap_text_cells_cannot_run_as_formulas_and_still_import(db, tmp_path):
    for code in ("north", "south"):
        site_create(code=code, name=code.title())
    Site.objects.create(code="=EVIL()", name="a site from before site codes were checked")
    frame = rich_rows()
    frame["patient_id"] = frame["patient_id"].map({"P000": "=1+1", "P001": "-P1", "P002": "P002", "P003": "@P3"})
    frame.loc[frame["patient_id"] == "P002", "site"] = "=EVIL()"
    _import(frame)
    snapshot = registry_snapshot()
    out = tmp_path / "records.csv"
    export_registry(file_format="redcap", out=out)
    rows = _cells(out)
    text_columns = ("record_id", "name", "mrn", "redcap_data_access_group")
    live = [(c, r[c]) for r in rows for c in text_columns if r[c][:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not live, live
    assert {r["record_id"] for r in rows} == {"'=1+1", "'-P1", "P002", "'@P3"}
    assert any(r["name"] == "'=HYPERLINK(\"http://x\")" for r in rows) and any(r["mrn"] == "'+4471" for r in rows)
    assert "'=EVIL()" in {r["redcap_data_access_group"] for r in rows}
    assert any(r["pain_days"].startswith("-") for r in rows)  # validated numbers stay numbers
    # vertebro's REDCap import reads its own export back to the same registry: nothing new, nothing changed.
    outcome = import_redcap_file(path=out, dictionary=write_dictionary(tmp_path / "DD.csv")[0])
    assert (outcome.counts.rows_created, outcome.counts.rows_updated) == (0, 0)
    assert registry_snapshot() == snapshot


@pytest.mark.parametrize("code", ['=HYPERLINK("http://evil","x")', "+1", "-A", "@SUM(1)", "SITE A", "SITE/A", "<b>A</b>",
                                  "A" * 33, "", "SITE-", "ＳＩＴＥ", "SITE\nA"])
def test_a_site_code_that_is_not_plain_is_refused_with_the_rule(db, code):
    with pytest.raises(DomainError, match="a site code is 1 to 32 ASCII letters and digits"):
        site_create(code=code, name="Somewhere")
    assert not Site.objects.exists()


@pytest.mark.parametrize("code", ["SITE-A", "NIR_1", "mgh.2", "A", "north"])
def test_plain_site_codes_are_accepted(db, code):
    assert site_create(code=code, name="Somewhere").code == code


def test_site_add_names_the_rule(db, run_cli):
    code, _, err = run_cli("site", "add", '=HYPERLINK("http://evil","x")', "Evil")
    assert code == 1 and "a site code is 1 to 32 ASCII letters and digits" in " ".join(err.split())
    assert not Site.objects.exists()
