"""The one loader of `vertebro analyze` and `vertebro report` (vertebro.cli.flat_source): validated rows
from a CSV file or the registry, and one sentence for each way there is nothing to analyse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vertebro.cli.flat_source import load_flat_source
from vertebro.errors import VertebroError
from vertebro.stats.analysis import analyze
from vertebro.stats.validate import FlatDataError, load_flat_csv

SMALL = Path(__file__).parents[1] / "stats" / "r" / "core_small.csv"


def test_csv_file_gives_validated_rows_its_path_and_its_name():
    source = load_flat_source(SMALL)
    assert source.where == str(SMALL) and source.name == "core_small.csv"
    assert source.frame["vps"].dtype == np.float64 and source.frame["age"].dtype == np.int64
    assert analyze(source.frame, validated=True) == analyze(load_flat_csv(SMALL))


def test_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(VertebroError, match=r"nope\.csv does not exist; give the path of a flat-format CSV file\.$"):
        load_flat_source(tmp_path / "nope.csv")


def test_folder_is_one_sentence(tmp_path):
    with pytest.raises(VertebroError, match=r"is a folder, not a file; give the path of a flat-format CSV file\.$"):
        load_flat_source(tmp_path)


def test_unreadable_csv_is_one_sentence(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text('patient_id,sex\n"P1,F\n', encoding="utf-8")
    with pytest.raises(VertebroError, match=r"broken\.csv is not a readable CSV file \(.*\); export it again as UTF-8 CSV\.$"):
        load_flat_source(broken)


def test_header_without_rows_is_one_sentence(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text(SMALL.read_text().splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(VertebroError, match=r"empty\.csv has a header but no data rows; give --csv a file with pain"):
        load_flat_source(empty)


def test_broken_rules_are_refused_with_their_lines(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = SMALL.read_text().splitlines()
    lines[2] = lines[2].replace(",osteoporotic,", ",idiopathic,")
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FlatDataError, match="line 3, column etiology: 'idiopathic' is not allowed"):
        load_flat_source(bad)


def test_analyze_with_a_folder_prints_the_sentence_not_the_exception_name(run_cli, tmp_path):
    code, out, err = run_cli("analyze", "--csv", str(tmp_path), "--json")
    assert code == 1 and out == ""
    assert "is a folder, not a file" in err and "IsADirectoryError" not in err


def test_registry_rows_are_validated_and_named(db):
    from vertebro.registry.models import ImportBatch
    from vertebro.registry.services.flat_import import flat_frame_import

    batch = ImportBatch.objects.create(file_name="core_small.csv", file_sha256="0" * 64, file_format="csv")
    flat_frame_import(frame=load_flat_csv(SMALL), import_batch=batch)
    source = load_flat_source(None)
    assert source.where.startswith("the registry (") and source.name == source.where
    assert source.frame["vps"].dtype == np.float64 and source.frame["age"].dtype == np.int64
    assert source.frame["patient_id"].nunique() == 23


def test_empty_registry_is_one_sentence(db):
    with pytest.raises(VertebroError, match=r"holds no pain assessments; add patients first or pass --csv FILE\.$"):
        load_flat_source(None)


def test_a_deidentified_export_gives_the_same_answer_where_it_can(tmp_path):
    # Safe Harbor shape (vertebro.interop.deidentify): hashed ids, no dates, ages over 89 as 90.
    import pandas as pd

    identified = pd.read_csv(SMALL, dtype=str, keep_default_na=False)
    deidentified = identified.drop(columns=["procedure_date"]).assign(
        patient_id="h" + identified["patient_id"].str.lower().str.rjust(20, "0"),
        age=identified["age"].astype(int).clip(upper=90).astype(str),
    )
    path = tmp_path / "deidentified.csv"
    deidentified.to_csv(path, index=False)
    with_ids, without = analyze(load_flat_csv(SMALL)), analyze(load_flat_source(path).frame, validated=True)
    assert max(deidentified["age"].astype(int)) == 90 < max(identified["age"].astype(int))
    for section in ("recurrence", "power"):
        assert without[section] == with_ids[section], section
    for mine, theirs in zip(without["timepoints"], with_ids["timepoints"], strict=True):
        assert mine["groups"] == theirs["groups"]
        unadjusted = [key for key in theirs["comparison"] if not key.startswith("ancova")]
        assert {key: mine["comparison"][key] for key in unadjusted} == {key: theirs["comparison"][key] for key in unadjusted}
        assert mine["comparison"]["ancova_difference"] is not None  # adjusted for the top-coded ages
    assert without["mixed_model"]["etiology_difference"] is not None
    assert without["data_cutoff"] is None and with_ids["data_cutoff"] is not None
    assert any(w.startswith("completeness: procedure dates or days are missing") for w in without["warnings"])
