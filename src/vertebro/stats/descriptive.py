"""Who is in the input: counts by sex and etiology, and age, one value per patient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Cohort", "cohort_summary", "patient_table"]


@dataclass(frozen=True)
class Cohort:
    """The ``cohort`` section of the contract, over every patient in the input.

    Attributes
    ----------
    patients, female, male : int
        Distinct patients, and how many are F / M.
    age_mean, age_sd : float or None
        Mean and sample SD (n - 1 denominator) of age at the index procedure; the SD needs two patients.
    age_min, age_max : int or None
    osteoporotic, pathologic : int
        Patients in each study group.
    other_etiology : int
        Patients of any other etiology (e.g. traumatic), left out of the group analyses.
    notes : tuple of str
    """

    patients: int
    female: int
    male: int
    age_mean: float | None
    age_sd: float | None
    age_min: int | None
    age_max: int | None
    osteoporotic: int
    pathologic: int
    other_etiology: int
    notes: tuple[str, ...] = ()


def patient_table(flat: pd.DataFrame) -> pd.DataFrame:
    """One row per patient (first appearance order) with the fixed columns ``sex``, ``age``, ``etiology``.

    The flat format repeats them on every row; validation guarantees they agree.
    """
    return flat.drop_duplicates("patient_id")[["patient_id", "sex", "age", "etiology"]].set_index("patient_id")


def cohort_summary(flat: pd.DataFrame) -> Cohort:
    """Summarise the patients of a validated flat frame (:func:`vertebro.stats.validate.validate_flat`)."""
    patients = patient_table(flat)
    n = len(patients)
    ages = patients["age"].to_numpy(dtype=np.float64)
    notes = []
    if n == 0:
        notes.append("the input has no patients")
    elif n == 1:
        notes.append("one patient only: the age SD needs two")
    osteoporotic = int((patients["etiology"] == "osteoporotic").sum())
    pathologic = int((patients["etiology"] == "pathologic").sum())
    return Cohort(
        patients=n,
        female=int((patients["sex"] == "F").sum()),
        male=int((patients["sex"] == "M").sum()),
        age_mean=float(np.mean(ages)) if n else None,
        age_sd=float(np.std(ages, ddof=1)) if n > 1 else None,
        age_min=int(np.min(ages)) if n else None,
        age_max=int(np.max(ages)) if n else None,
        osteoporotic=osteoporotic,
        pathologic=pathologic,
        other_etiology=n - osteoporotic - pathologic,
        notes=tuple(notes),
    )
