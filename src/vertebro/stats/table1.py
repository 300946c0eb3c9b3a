"""Table 1: the patients of each study group at baseline, with standardized mean differences.

Pure pandas. The input is the flat format (``vertebro.domain.flat``): one row per pain assessment.
Patient fields (sex, age, etiology, and ``levels``/``cement_ml`` of the index procedure when the
columns exist) are taken from each patient's first row; baseline pain from the patient's baseline row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..domain.errors import DomainError
from ..domain.levels import parse_levels
from ..domain.vocabulary import STUDY_GROUPS

#: The summary column that pools the two study groups.
OVERALL = "overall"

#: Columns of the DataFrame :func:`table1` returns, in order.
TABLE1_COLUMNS: tuple[str, ...] = (
    "variable",
    "level",
    "group",
    "n",
    "missing",
    "count",
    "percent",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "smd",
)

_CONTINUOUS = "continuous"
_CATEGORICAL = "categorical"


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Describe the osteoporotic and pathologic groups at baseline (the classic "Table 1").

    Parameters
    ----------
    df : pandas.DataFrame
        Flat-format rows with at least ``patient_id, sex, age, etiology, timepoint, vps``.
        Optional: ``days`` (picks the latest baseline row if a patient has several), ``levels``
        (``"T12;L1"`` or a number of levels) and ``cement_ml`` (index procedure, per patient).
        Patients of any other etiology (traumatic) are left out of the table.

    Returns
    -------
    pandas.DataFrame
        One row per variable, level and group, with the columns of :data:`TABLE1_COLUMNS`:

        ``variable``
            ``patients``, ``sex``, ``age``, ``levels_treated``, ``cement_ml``, ``baseline_vps``
            (``levels_treated`` and ``cement_ml`` only when those columns are present).
        ``level``
            For categorical variables the category (``F``, ``M``; ``"1"``, ``"2"`` … levels
            treated); empty for continuous variables and ``patients``.
        ``group``
            ``osteoporotic``, ``pathologic`` or ``overall`` (both groups together).
        ``n``
            Patients of the group with a value (the denominator).
        ``missing``
            Patients of the group without a value (e.g. no baseline row).
        ``count``, ``percent``
            Categorical: patients in the category and ``100 * count / n``. For ``patients``,
            the group size and its percentage of both groups. NaN for continuous variables.
        ``mean``, ``sd``, ``median``, ``q1``, ``q3``, ``min``, ``max``
            Continuous: sample mean and SD (ddof 1), median and quartiles (linear interpolation,
            R's ``quantile`` type 7), range. NaN for categorical variables and empty groups.
        ``smd``
            Standardized mean difference osteoporotic versus pathologic of the variable (for a
            category: of the indicator "in this category"), repeated on the three group rows.
            NaN for ``patients``, or when a group is empty or both variances are zero.

    Notes
    -----
    Standardized mean differences (Austin 2009), group 1 osteoporotic, group 2 pathologic:

    * continuous: :math:`d = (\\bar x_1 - \\bar x_2) / \\sqrt{(s_1^2 + s_2^2) / 2}`
    * binary: :math:`d = (\\hat p_1 - \\hat p_2) / \\sqrt{(\\hat p_1(1-\\hat p_1) + \\hat p_2(1-\\hat p_2)) / 2}`

    An absolute SMD above 0.1 is commonly read as a meaningful imbalance.

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between
    treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.
    """
    patients = _patients(df)
    patients = patients[patients["etiology"].isin(STUDY_GROUPS)]
    groups = {name: patients[patients["etiology"] == name] for name in STUDY_GROUPS}
    groups[OVERALL] = patients

    rows: list[dict[str, object]] = []
    rows += _patients_rows(groups)
    rows += _categorical_rows("sex", groups, levels=("F", "M"))
    rows += _continuous_rows("age", groups)
    if "levels_treated" in patients:
        observed = sorted(int(v) for v in patients["levels_treated"].dropna().unique())
        rows += _categorical_rows("levels_treated", groups, levels=tuple(str(v) for v in observed))
    if "cement_ml" in patients:
        rows += _continuous_rows("cement_ml", groups)
    rows += _continuous_rows("baseline_vps", groups)
    return pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))


def _patients(df: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: patient fields from the first row, baseline pain from the baseline row."""
    first = df.groupby("patient_id", sort=False).first()
    patients = pd.DataFrame(
        {
            "sex": first["sex"].astype("string"),
            "age": pd.to_numeric(first["age"], errors="coerce"),
            "etiology": first["etiology"].astype("string"),
        },
        index=first.index,
    )
    if "levels" in df:
        # first() skips missing values, so a patient whose baseline row lacks levels still counts.
        patients["levels_treated"] = first["levels"].map(_count_levels)
    if "cement_ml" in df:
        patients["cement_ml"] = pd.to_numeric(first["cement_ml"], errors="coerce")
    baseline = df[df["timepoint"] == "baseline"]
    if "days" in baseline:
        baseline = baseline.sort_values("days", kind="stable")
    patients["baseline_vps"] = pd.to_numeric(
        baseline.groupby("patient_id", sort=False)["vps"].last(), errors="coerce"
    ).reindex(patients.index)
    return patients


def _count_levels(value: object) -> float:
    """Number of levels treated: ``"T12;L1"`` is 2, a number is itself, missing is NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if not text:
        return math.nan
    if text.isdigit():
        return float(text)
    try:
        return float(len(parse_levels(text)))
    except DomainError as exc:
        raise DomainError("levels", value, f"cannot count the levels treated: {exc.rule}") from exc


def _empty_row(variable: str, level: str, group: str) -> dict[str, object]:
    row: dict[str, object] = {column: math.nan for column in TABLE1_COLUMNS}
    row.update(variable=variable, level=level, group=group)
    return row


def _patients_rows(groups: dict[str, pd.DataFrame]) -> list[dict[str, object]]:
    total = len(groups[OVERALL])
    rows = []
    for name, members in groups.items():
        row = _empty_row("patients", "", name)
        row.update(
            n=len(members),
            missing=0,
            count=len(members),
            percent=100.0 * len(members) / total if total else math.nan,
        )
        rows.append(row)
    return rows


def _categorical_rows(
    variable: str, groups: dict[str, pd.DataFrame], *, levels: tuple[str, ...]
) -> list[dict[str, object]]:
    values = {name: _as_text(members[variable]) for name, members in groups.items()}
    rows = []
    for level in levels:
        proportions = {}
        for name, series in values.items():
            present = series.dropna()
            count = int((present == level).sum())
            n = len(present)
            proportions[name] = count / n if n else math.nan
            row = _empty_row(variable, level, name)
            row.update(
                n=n,
                missing=len(series) - n,
                count=count,
                percent=100.0 * count / n if n else math.nan,
            )
            rows.append(row)
        smd = smd_binary(proportions[STUDY_GROUPS[0]], proportions[STUDY_GROUPS[1]])
        for row in rows[-len(values):]:
            row["smd"] = smd
    return rows


def _as_text(series: pd.Series) -> pd.Series:
    """Categories as text; levels treated are whole numbers stored as floats (NaN when missing)."""
    if pd.api.types.is_numeric_dtype(series):
        return series.map(lambda v: math.nan if pd.isna(v) else str(int(v)))
    return series.astype("object").where(series.notna(), math.nan)


def _continuous_rows(variable: str, groups: dict[str, pd.DataFrame]) -> list[dict[str, object]]:
    rows = []
    moments = {}
    for name, members in groups.items():
        series = members[variable]
        present = series.dropna().astype(float)
        row = _empty_row(variable, "", name)
        row.update(n=len(present), missing=len(series) - len(present))
        if len(present):
            row.update(
                mean=float(present.mean()),
                sd=float(present.std(ddof=1)) if len(present) > 1 else math.nan,
                median=float(present.median()),
                q1=float(present.quantile(0.25)),
                q3=float(present.quantile(0.75)),
                min=float(present.min()),
                max=float(present.max()),
            )
        moments[name] = (row["mean"], row["sd"])
        rows.append(row)
    smd = smd_continuous(*moments[STUDY_GROUPS[0]], *moments[STUDY_GROUPS[1]])
    for row in rows:
        row["smd"] = smd
    return rows


def smd_continuous(mean1: float, sd1: float, mean2: float, sd2: float) -> float:
    """Standardized mean difference of a continuous variable (Austin 2009).

    :math:`d = (m_1 - m_2) / \\sqrt{(s_1^2 + s_2^2) / 2}`; NaN when an input is missing or the
    pooled SD is zero.
    """
    pooled = math.sqrt((sd1**2 + sd2**2) / 2) if not (math.isnan(sd1) or math.isnan(sd2)) else math.nan
    if math.isnan(pooled) or pooled == 0 or math.isnan(mean1) or math.isnan(mean2):
        return math.nan
    return (mean1 - mean2) / pooled


def smd_binary(p1: float, p2: float) -> float:
    """Standardized difference of two proportions (Austin 2009).

    :math:`d = (p_1 - p_2) / \\sqrt{(p_1(1-p_1) + p_2(1-p_2)) / 2}`; NaN when a proportion is
    missing or both are 0 or 1 (no variance).
    """
    if math.isnan(p1) or math.isnan(p2):
        return math.nan
    pooled = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    if pooled == 0:
        return math.nan
    return (p1 - p2) / pooled
