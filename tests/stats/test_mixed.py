"""The random-intercept REML fit against lme4 (expected values from tests/stats/r/mixed_expected.R).

Tolerance: 1e-4 relative for every estimate, standard error, variance and REML criterion (the issue's
tolerance for iterative fits). A variance lme4 puts on the boundary must be exactly zero here too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vertebro.domain.errors import DomainError
from vertebro.stats.mixed import RandomInterceptFit, fit_random_intercept

R_DIR = Path(__file__).parent / "r"
RTOL = 1e-4
SCHEDULE = ["post", "1w", "1m", "3m", "6m", "12m"]
FIXTURES = ["balanced", "unbalanced", "boundary", "near_boundary"]


def load_fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(R_DIR / f"mixed_{name}.csv", dtype={"patient_id": str})


def design(rows: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The design R builds for score ~ etiology + timepoint + baseline + age + sex (treatment contrasts)."""
    present = [tp for tp in SCHEDULE if tp in set(rows["timepoint"])]
    columns = {"(Intercept)": np.ones(len(rows))}
    columns["etiologypathologic"] = (rows["etiology"] == "pathologic").to_numpy(float)
    for tp in present[1:]:
        columns[f"timepoint{tp}"] = (rows["timepoint"] == tp).to_numpy(float)
    columns["baseline"] = rows["baseline"].to_numpy(float)
    columns["age"] = rows["age"].to_numpy(float)
    columns["sexM"] = (rows["sex"] == "M").to_numpy(float)
    return np.column_stack(list(columns.values())), list(columns)


def fit_fixture(rows: pd.DataFrame) -> RandomInterceptFit:
    X, names = design(rows)
    return fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"].to_numpy(), column_names=names)


def expected(name: str) -> pd.DataFrame:
    table = pd.read_csv(R_DIR / "mixed_expected.csv", keep_default_na=False)
    return table[table["fixture"] == name]


def scalar(table: pd.DataFrame, quantity: str) -> float:
    return float(table.loc[table["quantity"] == quantity, "value"].iloc[0])


@pytest.mark.parametrize("name", FIXTURES)
def test_fixed_effects_and_standard_errors_match_lme4(name):
    fit = fit_fixture(load_fixture(name))
    want = expected(name)
    for quantity in ("estimate", "se"):
        r_values = want[want["quantity"] == quantity].set_index("term")["value"].astype(float)
        assert list(fit.coefficients.index) == list(r_values.index)
        np.testing.assert_allclose(fit.coefficients[quantity], r_values, rtol=RTOL, err_msg=quantity)


@pytest.mark.parametrize("name", FIXTURES)
def test_variances_reml_criterion_and_counts_match_lme4(name):
    fit = fit_fixture(load_fixture(name))
    want = expected(name)
    assert fit.residual_variance == pytest.approx(scalar(want, "residual_variance"), rel=RTOL)
    assert fit.reml_criterion == pytest.approx(scalar(want, "reml_criterion"), rel=RTOL)
    assert fit.n_observations == scalar(want, "n_observations")
    assert fit.n_groups == scalar(want, "n_groups")
    if scalar(want, "singular"):
        assert fit.patient_variance == 0.0
    else:
        assert fit.patient_variance == pytest.approx(scalar(want, "patient_variance"), rel=RTOL)


def test_unbalanced_fixture_really_has_single_row_patients_and_missing_follow_ups():
    rows = load_fixture("unbalanced")
    sizes = rows.groupby("patient_id").size()
    assert (sizes == 1).sum() >= 5 and sizes.max() == 5 and "post" not in set(rows["timepoint"])


def test_boundary_fixture_is_a_singular_fit_in_lme4_and_here():
    assert scalar(expected("boundary"), "singular") == 1.0
    assert fit_fixture(load_fixture("boundary")).patient_variance == 0.0


def test_agrees_with_statsmodels_mixedlm_on_the_balanced_fixture():
    from statsmodels.regression.mixed_linear_model import MixedLM

    rows = load_fixture("balanced")
    X, _ = design(rows)
    reference = MixedLM(rows["score"].to_numpy(float), X, groups=rows["patient_id"]).fit(reml=True)
    fit = fit_fixture(load_fixture("balanced"))
    np.testing.assert_allclose(fit.coefficients["estimate"], np.asarray(reference.fe_params), rtol=RTOL)
    np.testing.assert_allclose(fit.coefficients["se"], np.asarray(reference.bse_fe), rtol=RTOL)
    assert fit.patient_variance == pytest.approx(float(np.asarray(reference.cov_re)[0, 0]), rel=RTOL)
    assert fit.residual_variance == pytest.approx(reference.scale, rel=RTOL)
    # statsmodels' REML log-likelihood is the same function as lme4's, so -2 llf is REMLcrit.
    assert fit.reml_criterion == pytest.approx(-2.0 * reference.llf, rel=RTOL)


def test_row_order_and_label_type_do_not_change_the_fit():
    rows = load_fixture("unbalanced")
    shuffled = rows.sample(frac=1.0, random_state=7).reset_index(drop=True)
    as_numbers = shuffled.assign(patient_id=shuffled["patient_id"].str[1:].astype(int))
    first = fit_fixture(rows)
    again = fit_fixture(as_numbers)
    pd.testing.assert_frame_equal(first.coefficients, again.coefficients, rtol=1e-10)
    assert again.patient_variance == pytest.approx(first.patient_variance, rel=1e-10)
    assert again.reml_criterion == pytest.approx(first.reml_criterion, rel=1e-12)


def test_rank_deficient_design_names_the_redundant_column():
    rows = load_fixture("balanced")
    X, names = design(rows)
    X = np.column_stack([X, 2.0 * X[:, names.index("age")] - X[:, names.index("baseline")]])
    with pytest.raises(DomainError, match="rank-deficient") as caught:
        fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"], column_names=names + ["age2"])
    assert caught.value.field == "age2"


def test_all_zero_column_is_refused_by_name():
    rows = load_fixture("balanced")
    X, names = design(rows)
    X[:, names.index("sexM")] = 0.0
    with pytest.raises(DomainError, match="identically zero") as caught:
        fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"], column_names=names)
    assert caught.value.field == "sexM"


def test_missing_response_is_refused_with_its_row():
    rows = load_fixture("balanced")
    X, names = design(rows)
    y = rows["score"].to_numpy(float)
    y[17] = np.nan
    with pytest.raises(DomainError, match="row 17") as caught:
        fit_random_intercept(y, X, rows["patient_id"], column_names=names)
    assert caught.value.field == "y"


def test_missing_covariate_is_refused_naming_the_column():
    rows = load_fixture("balanced")
    X, names = design(rows)
    X[3, names.index("age")] = np.nan
    with pytest.raises(DomainError, match="row 3") as caught:
        fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"], column_names=names)
    assert caught.value.field == "age"


def test_missing_group_label_is_refused():
    rows = load_fixture("balanced")
    X, names = design(rows)
    groups = rows["patient_id"].to_numpy(object)
    groups[5] = None
    with pytest.raises(DomainError, match="row 5"):
        fit_random_intercept(rows["score"].to_numpy(float), X, groups, column_names=names)


def test_one_row_per_group_is_refused_because_the_variances_are_not_identified():
    rows = load_fixture("balanced").drop_duplicates("patient_id")
    X = np.column_stack([np.ones(len(rows)), rows["age"].to_numpy(float)])
    with pytest.raises(DomainError, match="cannot be told apart"):
        fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"], column_names=["(Intercept)", "age"])


def test_column_names_must_match_the_design():
    rows = load_fixture("balanced")
    X, names = design(rows)
    with pytest.raises(DomainError, match="one name is needed per design column"):
        fit_random_intercept(rows["score"].to_numpy(float), X, rows["patient_id"], column_names=names[:-1])


def dense_reml_criterion(y, X, groups, patient_variance, residual_variance) -> float:
    """-2 restricted log-likelihood from the textbook formula with the full n x n covariance V."""
    same_patient = groups[:, None] == groups[None, :]
    V = patient_variance * same_patient + residual_variance * np.eye(len(y))
    V_inv = np.linalg.inv(V)
    information = X.T @ V_inv @ X
    beta = np.linalg.solve(information, X.T @ V_inv @ y)
    residual = y - X @ beta
    n, p = X.shape
    return float(
        np.linalg.slogdet(V)[1]
        + np.linalg.slogdet(information)[1]
        + residual @ V_inv @ residual
        + (n - p) * np.log(2 * np.pi)
    )


@pytest.mark.parametrize(
    "patient_sd, seed",
    [(1.0, 1), (30.0, 2)],  # lambda about 1 and about 900: strong clustering is where cancellation bites
)
def test_estimate_maximises_the_textbook_reml_likelihood(patient_sd, seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, 60)
    groups = np.repeat(np.arange(60), sizes)
    X = np.column_stack(
        [
            np.ones(len(groups)),
            np.repeat(rng.normal(70, 10, 60), sizes),  # constant within patient, like age
            rng.normal(0, 1, len(groups)),  # varies within patient, like timepoint
        ]
    )
    y = X @ [1.0, 0.05, 2.0] + np.repeat(rng.normal(0, patient_sd, 60), sizes) + rng.normal(0, 1, len(groups))
    fit = fit_random_intercept(y, X, groups, column_names=["(Intercept)", "x_between", "x_within"])

    at_estimate = dense_reml_criterion(y, X, groups, fit.patient_variance, fit.residual_variance)
    assert fit.reml_criterion == pytest.approx(at_estimate, rel=1e-10)
    for factor_u, factor_e in [(1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)]:
        nearby = dense_reml_criterion(
            y, X, groups, fit.patient_variance * factor_u, fit.residual_variance * factor_e
        )
        assert nearby > at_estimate
    # The fixed effects and their standard errors are the GLS ones at the estimated variances.
    V = fit.patient_variance * (groups[:, None] == groups[None, :]) + fit.residual_variance * np.eye(len(y))
    information = X.T @ np.linalg.solve(V, X)
    gls_beta = np.linalg.solve(information, X.T @ np.linalg.solve(V, y))
    np.testing.assert_allclose(fit.coefficients["estimate"], gls_beta, rtol=1e-8)
    np.testing.assert_allclose(fit.coefficients["se"], np.sqrt(np.diag(np.linalg.inv(information))), rtol=1e-8)


def test_response_fitted_exactly_by_the_fixed_effects_is_a_domain_error():
    # Two patients, y = 4 + 2 etiology - 1 timepoint with no error: the Cholesky factor of [X y]'[X y]
    # breaks down, which must read as the rule, not as scipy's LinAlgError.
    X = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    with pytest.raises(DomainError, match="reproduce every response exactly") as caught:
        fit_random_intercept(np.array([4.0, 3.0, 6.0, 5.0]), X, np.array(["a", "a", "b", "b"]),
                             column_names=["intercept", "etiology", "timepoint"])  # fmt: skip
    assert caught.value.field == "y"


def test_exact_fit_on_many_rows_is_refused_although_rounding_leaves_a_tiny_residual():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(300), rng.normal(size=300), rng.normal(size=300)])
    groups = np.repeat(np.arange(100), 3)
    with pytest.raises(DomainError, match="reproduce every response exactly"):
        fit_random_intercept(X @ [1.0, 2.0, 3.0], X, groups, column_names=["a", "b", "c"])
    # A residual of a thousandth of a point is a real (if tiny) variance and is fitted.
    noisy = X @ [1.0, 2.0, 3.0] + rng.normal(0, 1e-3, 300)
    fit = fit_random_intercept(noisy, X, groups, column_names=["a", "b", "c"])
    assert fit.residual_variance == pytest.approx(1e-6, rel=0.3)
