"""Table 1 against base R (tests/stats/r/table1_expected.R wrote the expected values).

Tolerance: 1e-6 relative (closed forms; R writes 15 significant digits).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.domain.errors import DomainError
from vertebro.stats.table1 import TABLE1_COLUMNS, smd_binary, smd_continuous, table1

R_DIR = Path(__file__).parent / "r"
RTOL = 1e-6
NUMERIC = ["n", "missing", "count", "percent", "mean", "sd", "median", "q1", "q3", "min", "max", "smd"]
KEY = ["variable", "level", "group"]


@pytest.fixture(scope="module")
def fixture_df() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "table1_fixture.csv", keep_default_na=False, na_values=[""])


def test_table1_matches_r_on_every_cell(fixture_df):
    expected = pd.read_csv(R_DIR / "table1_expected.csv", keep_default_na=False, na_values=[""])
    expected["level"] = expected["level"].fillna("").astype(str)
    got = table1(fixture_df)

    assert list(got.columns) == list(TABLE1_COLUMNS)
    assert list(map(tuple, got[KEY].values)) == list(map(tuple, expected[KEY].values))
    for column in NUMERIC:
        np.testing.assert_allclose(
            got[column].astype(float).to_numpy(),
            expected[column].astype(float).to_numpy(),
            rtol=RTOL,
            equal_nan=True,
            err_msg=column,
        )


def test_traumatic_patients_are_left_out(fixture_df):
    got = table1(fixture_df)
    overall = got[(got["variable"] == "patients") & (got["group"] == "overall")]
    assert fixture_df.loc[fixture_df["etiology"] == "traumatic", "patient_id"].nunique() == 1
    assert int(overall["n"].iloc[0]) == 21


def test_optional_columns_absent_leave_their_rows_out(fixture_df):
    got = table1(fixture_df.drop(columns=["levels", "cement_ml"]))
    assert set(got["variable"]) == {"patients", "sex", "age", "baseline_vps"}


def test_levels_given_as_numbers_are_counted_as_is(fixture_df):
    df = fixture_df.copy()
    df["levels"] = 2
    got = table1(df)
    rows = got[got["variable"] == "levels_treated"]
    assert set(rows["level"]) == {"2"}
    assert rows["percent"].tolist() == [100.0, 100.0, 100.0]


def test_unreadable_levels_raise_domain_error_naming_the_value(fixture_df):
    df = fixture_df.copy()
    df.loc[0, "levels"] = "X9"
    with pytest.raises(DomainError, match="X9"):
        table1(df)


def test_empty_pathologic_group_gives_nan_statistics_and_nan_smd(fixture_df):
    got = table1(fixture_df[fixture_df["etiology"] != "pathologic"])
    pathologic = got[got["group"] == "pathologic"]
    assert (pathologic["n"] == 0).all()
    age = pathologic[pathologic["variable"] == "age"].iloc[0]
    assert math.isnan(age["mean"]) and math.isnan(age["smd"])


def test_smd_formulas_austin_2009():
    # continuous: (m1 - m2) / sqrt((s1^2 + s2^2) / 2)
    assert smd_continuous(10.0, 2.0, 8.0, 4.0) == pytest.approx(2.0 / math.sqrt(10.0), rel=1e-12)
    # binary: (p1 - p2) / sqrt((p1(1-p1) + p2(1-p2)) / 2)
    assert smd_binary(0.5, 0.2) == pytest.approx(0.3 / math.sqrt((0.25 + 0.16) / 2), rel=1e-12)
    assert math.isnan(smd_continuous(5.0, 0.0, 5.0, 0.0))
    assert math.isnan(smd_binary(1.0, 1.0))
