"""Makes the committed flat-format fixtures checked against R by tests/stats/test_analysis_vs_r.py.

Run from the repository root:  .venv/bin/python tests/stats/r/core_fixtures.py
then:                           Rscript tests/stats/r/make_expected.R

Each fixture has its own fixed seed, so running this again writes the same files. What each one covers:

core_small.csv
    14 osteoporotic and 8 pathologic patients. At ``post`` the follow-up scores carry two decimals, so no
    improvement is zero or tied: the exact signed-rank and rank-sum paths. At ``1m`` scores are whole
    numbers (ties in small groups: the normal approximations with tie correction). ``3m`` has
    missing follow-ups. The pathologic recurrences are placed so that the Kaplan-Meier curve sits at exactly
    0.5 on a flat stretch (R's midpoint median). One traumatic patient and two unscheduled rows must be left
    out of the groups.
core_registry.csv
    80 osteoporotic and 20 pathologic patients with whole-number scores (many ties; a zero improvement in
    a group of 14 at ``1m``), 25% missing follow-ups, two-decimal scores at ``post`` (n = 80 >= 50: the
    normal path; the scores clipped at 0 tie too, so the n = 50 boundary on its own is checked by the
    single-function cases of make_expected.R), recent procedures whose late windows have not closed
    (completeness), tied recurrence days, and no recurrence at all in the pathologic group.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FOLLOW_UPS = ("post", "1w", "1m", "3m", "6m", "12m")
# Typical day within each window and how far it may wander (stays inside the window).
DAY = {"baseline": (-3, 2), "post": (1, 1), "1w": (7, 3), "1m": (30, 10), "3m": (90, 20), "6m": (182, 30), "12m": (365, 60)}
IMPROVEMENT = {"post": 3.5, "1w": 4.0, "1m": 4.2, "3m": 4.3, "6m": 4.1, "12m": 4.0}  # assumed, points on 0..10
COLUMNS = [
    "patient_id", "site", "sex", "age", "etiology", "procedure_date", "timepoint", "days", "vps", "venue",
    "recurrent_pain",
]  # fmt: skip


def cohort(
    rng: np.random.Generator,
    *,
    prefix: str,
    etiologies: list[str],
    decimals: dict[str, int],
    missing: float,
    recurrence: dict[str, float],
    first_procedure: date,
    last_procedure: date,
    cutoff: date,
) -> list[dict]:
    rows = []
    span = (last_procedure - first_procedure).days
    for number, etiology in enumerate(etiologies, start=1):
        patient = f"{prefix}{number:03d}"
        sex = "F" if rng.random() < 0.72 else "M"
        age = int(np.clip(round(rng.normal(72, 11)), 22, 95))
        procedure = first_procedure + timedelta(days=int(rng.integers(0, span + 1)))
        baseline = int(np.clip(round(rng.normal(7.2, 1.8)), 0, 10))
        shift = 0.8 if etiology == "pathologic" else 0.0
        patient_effect = rng.normal(0, 1.0)
        base = {"patient_id": patient, "site": "A" if number % 3 else "B", "sex": sex, "age": age,
                "etiology": etiology, "procedure_date": procedure.isoformat()}  # fmt: skip
        rows.append({**base, "timepoint": "baseline", "days": _day(rng, "baseline"), "vps": baseline,
                     "venue": "neurointerventional_clinic", "recurrent_pain": ""})  # fmt: skip
        for code in FOLLOW_UPS:
            day = _day(rng, code)
            if procedure + timedelta(days=day) > cutoff:
                continue  # not due yet at the data cut-off
            if code != "post" and rng.random() < missing:
                continue
            score = baseline - IMPROVEMENT[code] + shift + patient_effect + rng.normal(0, 1.3)
            score = float(np.clip(round(score, decimals.get(code, 0)), 0, 10))
            recurrent = int(rng.random() < recurrence[etiology])
            rows.append({**base, "timepoint": code, "days": day, "vps": score,
                         "venue": "pain_clinic" if recurrent else "primary_care", "recurrent_pain": recurrent})  # fmt: skip
    return rows


def _day(rng: np.random.Generator, code: str) -> int:
    centre, spread = DAY[code]
    return int(centre + rng.integers(-spread, spread + 1)) if code != "post" else 1


def core_small() -> pd.DataFrame:
    rng = np.random.default_rng(20120301)
    rows = cohort(
        rng, prefix="S", etiologies=["osteoporotic"] * 14 + ["pathologic"] * 8,
        decimals={"post": 2}, missing=0.0, recurrence={"osteoporotic": 0.15, "pathologic": 0.0},
        first_procedure=date(2022, 1, 1), last_procedure=date(2022, 6, 30), cutoff=date(2024, 1, 1),
    )  # fmt: skip
    frame = pd.DataFrame(rows)
    # 3m: a few follow-ups missing.
    frame = frame[~((frame["timepoint"] == "3m") & frame["patient_id"].isin(["S002", "S009", "S016"]))]
    # Pathologic recurrences at post, 1w, 1m and 3m for S015..S018, and at 12m for S019: the curve
    # reaches 4/8 = 0.5 at S018's 3m day and stays there until S019's 12m day.
    first = {"S015": "post", "S016": "1w", "S017": "1m", "S018": "3m", "S019": "12m"}
    frame["recurrent_pain"] = frame["recurrent_pain"].astype(object)
    for patient, code in first.items():
        frame.loc[(frame["patient_id"] == patient) & (frame["timepoint"] == code), "recurrent_pain"] = 1
    extra = [
        {"patient_id": "S023", "site": "A", "sex": "M", "age": 55, "etiology": "traumatic",
         "procedure_date": "2022-03-01", "timepoint": "baseline", "days": -1, "vps": 9.0, "venue": "other",
         "recurrent_pain": ""},
        {"patient_id": "S023", "site": "A", "sex": "M", "age": 55, "etiology": "traumatic",
         "procedure_date": "2022-03-01", "timepoint": "post", "days": 1, "vps": 2.0, "venue": "other",
         "recurrent_pain": 0},
        _unscheduled(frame, "S001", days=700, vps=1.0),
        _unscheduled(frame, "S020", days=600, vps=0.0),
    ]  # fmt: skip
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def _unscheduled(frame: pd.DataFrame, patient: str, *, days: int, vps: float) -> dict:
    """A telephone assessment outside every window (with recurrent pain, which must not count)."""
    first = frame[frame["patient_id"] == patient].iloc[0].to_dict()
    return {**first, "timepoint": "unscheduled", "days": days, "vps": vps, "venue": "telephone", "recurrent_pain": 1}


def core_registry() -> pd.DataFrame:
    rng = np.random.default_rng(20120302)
    etiologies = ["osteoporotic"] * 80 + ["pathologic"] * 20
    rng.shuffle(etiologies)
    rows = cohort(
        rng, prefix="R", etiologies=etiologies, decimals={"post": 2}, missing=0.25,
        recurrence={"osteoporotic": 0.12, "pathologic": 0.0},
        first_procedure=date(2021, 1, 1), last_procedure=date(2022, 12, 31), cutoff=date(2023, 2, 28),
    )  # fmt: skip
    frame = pd.DataFrame(rows)
    # Tied recurrence days: every 1m visit of an osteoporotic patient on day 30.
    frame.loc[frame["timepoint"] == "1m", "days"] = 30
    return frame


def main() -> None:
    for name, frame in (("core_small", core_small()), ("core_registry", core_registry())):
        frame = frame[COLUMNS]
        frame.to_csv(HERE / f"{name}.csv", index=False)
        print(f"wrote {HERE / name}.csv: {len(frame)} rows, {frame['patient_id'].nunique()} patients")


if __name__ == "__main__":
    main()
