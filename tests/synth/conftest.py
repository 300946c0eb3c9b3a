"""Cohorts written once per test session and read back from the file, as a user would."""

from __future__ import annotations

import pandas as pd
import pytest
from synth_helpers import read_flat

from vertebro.synth import write_cohort


@pytest.fixture(scope="session")
def cohort_file(tmp_path_factory):
    """``cohort_file(patients, seed)`` → path of that cohort, written once per session."""
    folder = tmp_path_factory.mktemp("synth")
    written: dict[tuple[int, int], object] = {}

    def get(patients: int = 300, seed: int = 2012):
        key = (patients, seed)
        if key not in written:
            written[key] = write_cohort(folder / f"cohort_{patients}_{seed}.csv", patients, seed).path
        return written[key]

    return get


@pytest.fixture(scope="session")
def cohort(cohort_file):
    """``cohort(patients, seed)`` → the written cohort read back as a DataFrame (cached per session)."""
    frames: dict[tuple[int, int], pd.DataFrame] = {}

    def get(patients: int = 300, seed: int = 2012) -> pd.DataFrame:
        key = (patients, seed)
        if key not in frames:
            frames[key] = read_flat(cohort_file(patients, seed))
        return frames[key].copy()

    return get
