"""Makes the instrument score fixtures checked against R by tests/stats/test_instruments_vs_r.py.

Run from the repository root:  .venv/bin/python tests/stats/r/instruments_fixtures.py
then:                           Rscript tests/stats/r/instruments_expected.R

Each fixture is a score frame (vertebro.stats.instrument_scores) for the patients of a pain fixture
(the covariates etiology, sex and age come from that file). Fixed seeds: running this again writes
the same files. What they cover:

instruments_small.csv  (patients of core_small.csv: 14 osteoporotic, 8 pathologic, 1 traumatic)
    RDQ whole numbers (ties: normal approximations), EQ-5D US index with three decimals (no ties at
    1m: exact Wilcoxon and Mann-Whitney), EQ VAS (higher is better, no MCID), MME with many zeros
    (zero improvements), a pathologic patient without a baseline, an unscheduled score, a score of a
    patient the pain file does not have, and no England index at all (the "no scores" note).
instruments_registry.csv  (patients of core_registry.csv: 80 osteoporotic, 20 pathologic)
    RDQ and ODI at baseline, 1m, 3m, 12m with 20% missing follow-ups (the normal paths at n >= 50).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DAY = {"baseline": -1, "1w": 7, "1m": 30, "3m": 90, "12m": 365}


def patients(name: str) -> pd.DataFrame:
    flat = pd.read_csv(HERE / f"{name}.csv", dtype={"patient_id": str})
    return flat.drop_duplicates("patient_id")[["patient_id", "etiology"]]


def rows_for(rng, people, measure, instrument, timepoints, draw, missing=0.0):
    rows = []
    for patient, etiology in zip(people["patient_id"], people["etiology"]):
        level = rng.normal(0, 1)
        for code in timepoints:
            if code != "baseline" and rng.random() < missing:
                continue
            value = draw(rng, code, etiology, level)
            rows.append({"patient_id": patient, "instrument": instrument, "measure": measure, "timepoint": code,
                         "days": DAY[code], "score": value})  # fmt: skip
    return rows


def rdq(rng, code, etiology, level):
    gain = {"baseline": 0, "1w": 5, "1m": 7, "3m": 8, "12m": 7}[code] - (2 if etiology == "pathologic" else 0)
    return int(np.clip(round(17.5 + 3 * level - gain + rng.normal(0, 2.5)), 0, 24))


def odi(rng, code, etiology, level):
    gain = {"baseline": 0, "1m": 18, "3m": 22, "12m": 20}[code] - (6 if etiology == "pathologic" else 0)
    return float(np.clip(2 * round((62 + 10 * level - gain + rng.normal(0, 8)) / 2), 0, 100))


def eq5d_us(rng, code, etiology, level):
    gain = {"baseline": 0, "1w": 0.18, "1m": 0.25, "12m": 0.22}[code] - (0.06 if etiology == "pathologic" else 0)
    return round(float(np.clip(0.45 + 0.12 * level + gain + rng.normal(0, 0.1), -0.573, 1)), 3)


def vas(rng, code, etiology, level):
    gain = {"baseline": 0, "1w": 12, "1m": 18, "12m": 15}[code]
    return int(np.clip(round(45 + 10 * level + gain + rng.normal(0, 9)), 0, 100))


def mme(rng, code, etiology, level):
    on_opioid = rng.random() < {"baseline": 0.7, "1w": 0.5, "1m": 0.35, "12m": 0.25}[code]
    return 0.0 if not on_opioid else float(rng.choice([15, 20, 30, 45, 60, 90]))


def small() -> pd.DataFrame:
    rng = np.random.default_rng(1010)
    people = patients("core_small")
    rows = []
    rows += rows_for(rng, people, "rdq", "rdq24", ("baseline", "1w", "1m", "12m"), rdq, missing=0.1)
    rows += rows_for(rng, people, "eq5d5l_index_us", "eq5d5l", ("baseline", "1m", "12m"), eq5d_us, missing=0.1)
    rows += rows_for(rng, people, "eq5d5l_vas", "eq5d5l", ("baseline", "1w", "1m"), vas)
    rows += rows_for(rng, people, "mme_per_day", "analgesics", ("baseline", "1m", "12m"), mme)
    frame = pd.DataFrame(rows)
    # A pathologic patient without a baseline RDQ, an unscheduled score, a patient without pain rows.
    patho = people.loc[people["etiology"] == "pathologic", "patient_id"].iloc[0]
    frame = frame[~((frame["patient_id"] == patho) & (frame["measure"] == "rdq") & (frame["timepoint"] == "baseline"))]
    extra = [{"patient_id": people["patient_id"].iloc[0], "instrument": "rdq24", "measure": "rdq", "timepoint": "unscheduled",
              "days": 700, "score": 3},
             {"patient_id": "NOT-IN-PAIN-FILE", "instrument": "rdq24", "measure": "rdq", "timepoint": "baseline", "days": 0,
              "score": 12}]  # fmt: skip
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def registry() -> pd.DataFrame:
    rng = np.random.default_rng(2020)
    people = patients("core_registry")
    rows = rows_for(rng, people, "rdq", "rdq24", ("baseline", "1m", "3m", "12m"), rdq, missing=0.2)
    rows += rows_for(rng, people, "odi", "odi", ("baseline", "1m", "3m", "12m"), odi, missing=0.2)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    for name, frame in (("instruments_small", small()), ("instruments_registry", registry())):
        frame.to_csv(HERE / f"{name}.csv", index=False)
        print("wrote", HERE / f"{name}.csv", len(frame), "rows")
