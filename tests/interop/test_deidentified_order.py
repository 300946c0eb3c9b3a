"""De-identified rows say nothing about the study ids through their order: in every format the
patients come in the order of their keyed hashes (a keyed shuffle), each patient's rows together.

The statistic: a row order that carried the study-id order would correlate with it. For a random
permutation of n patients, Spearman's rho between position and study-id rank has mean 0 and
standard deviation 1/sqrt(n-1), and the number of ascents (a patient followed by a higher study id)
has mean (n-1)/2 and variance (n+1)/12 (Eulerian numbers). Both are tested at the 1% level on 300
patients with sequential study ids (the order they had before: rho = 1, every step an ascent), and
across 40 keys the Spearman p-values must look uniform (Kolmogorov–Smirnov, 1% level). The keys are
fixed, so the test is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vertebro.interop.deidentify import deidentify_flat, keyed_hash
from vertebro.interop.export import export_registry
from vertebro.registry.models import ImportBatch
from vertebro.registry.services.flat_import import flat_frame_import

from .flat_rows import flat_rows
from .test_deidentify import _secret

PATIENTS = 300
FORMATS = ("csv", "xlsx", "parquet", "dta", "sav", "redcap", "fhir")


def _sequential_cohort() -> pd.DataFrame:
    frame = flat_rows(PATIENTS)
    number = frame["patient_id"].str[1:].astype(int)
    return frame.assign(patient_id="VP" + number.map("{:04d}".format), age=(40 + number % 50).astype(str))


def _order_in(path, file_format: str) -> list[str]:  # noqa: ANN001
    """The keyed hashes in the order a reader meets them."""
    import pyreadstat

    if file_format == "fhir":
        return [p.stem for p in sorted(path.glob("*.json"))]
    if file_format in ("csv", "redcap"):
        table = pd.read_csv(path, dtype=str)
    elif file_format == "xlsx":
        table = pd.read_excel(path, sheet_name="assessments", dtype=str)
    elif file_format == "parquet":
        table = pd.read_parquet(path)
    else:
        table, _ = (pyreadstat.read_dta if file_format == "dta" else pyreadstat.read_sav)(str(path))
    column = "record_id" if file_format == "redcap" else "patient_id"
    ids = table[column].tolist()
    runs = [h for i, h in enumerate(ids) if i == 0 or ids[i - 1] != h]
    assert len(runs) == len(set(runs)), "a patient's rows are not together"
    return runs


def _ranks(order: list[str], study_ids: list[str], secret: str) -> np.ndarray:
    by_hash = {keyed_hash(sid, secret=secret): sid for sid in study_ids}
    position_of = {sid: i for i, sid in enumerate(sorted(study_ids))}
    return np.array([position_of[by_hash[h]] for h in order])


def _independence_p_values(ranks: np.ndarray) -> tuple[float, float]:
    n = len(ranks)
    rho_p = stats.spearmanr(np.arange(n), ranks).pvalue
    ascents = int((np.diff(ranks) > 0).sum())
    z = (ascents - (n - 1) / 2) / math.sqrt((n + 1) / 12)
    return float(rho_p), float(2 * stats.norm.sf(abs(z)))


def test_the_test_sees_study_id_order():
    """The statistic is able to fail: rows in study-id order (as before) are refused."""
    rho_p, ascent_p = _independence_p_values(np.arange(PATIENTS))
    assert rho_p < 1e-10 and ascent_p < 1e-10


@pytest.mark.parametrize("file_format", FORMATS)
def test_deidentified_rows_carry_no_study_id_order(db, tmp_path, file_format):
    frame = _sequential_cohort()
    flat_frame_import(frame=frame, import_batch=ImportBatch.objects.create(file_name="seq.csv", file_sha256="0" * 64, file_format="csv"))
    out = tmp_path / ("bundles" if file_format == "fhir" else f"deid.{file_format}")
    export_registry(file_format=file_format, out=out, deidentified=True)
    order = _order_in(out, file_format)
    assert len(order) == PATIENTS and order == sorted(order)  # the keyed hash order
    rho_p, ascent_p = _independence_p_values(_ranks(order, frame["patient_id"].unique().tolist(), _secret()))
    assert rho_p > 0.01 and ascent_p > 0.01, (rho_p, ascent_p)


def test_across_keys_the_order_is_a_fresh_shuffle():
    frame = _sequential_cohort()
    study_ids = frame["patient_id"].unique().tolist()
    p_values = []
    for k in range(40):
        secret = f"order-test-key-{k:02d}-0123456789"
        out = deidentify_flat(frame.assign(age=pd.to_numeric(frame["age"])), secret=secret)
        order = out["patient_id"].drop_duplicates().tolist()
        p_values.append(_independence_p_values(_ranks(order, study_ids, secret))[0])
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
