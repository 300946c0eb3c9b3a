"""Benchmark: the random-intercept REML fit (vertebro.stats.mixed) against lme4::lmer and statsmodels.

Run: ``.venv/bin/python bench/bench_mixed.py`` (``--help`` for options). Generates study-shaped data
(each patient up to six follow-up rows post..12m; covariates etiology, timepoint, baseline, age, sex),
fits ``score ~ etiology + timepoint + baseline + age + sex + (1 | patient_id)`` by REML, and prints a
table of times, ratios, and the largest relative difference between the estimates (fixed effects,
standard errors, both variances; REML criterion for lme4), which must stay below 1e-4.

Timings
- ours: ``design + fit`` builds the design matrix from the DataFrame and fits (what ``lmer`` does
  inside ``system.time``); ``fit`` is ``fit_random_intercept`` on ready arrays. Median of ``--repeats``
  runs after one warm-up run in the same process; the warm-up run's time is shown too.
- lme4: ``system.time(lmer(...))`` inside R (model frame + fit), and the whole ``Rscript`` wall time
  (R start-up, reading the CSV with data.table::fread, fitting). Skipped when Rscript or lme4 is missing.
- statsmodels: ``MixedLM(...).fit(reml=True)`` on ready arrays, one run, 20k patients only (it is slow).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from vertebro.stats.mixed import RandomInterceptFit, fit_random_intercept

SCHEDULE = ["post", "1w", "1m", "3m", "6m", "12m"]
# Assumed mean improvement by timepoint (points on 0..10), as in tests/stats/r/mixed_fixtures.R.
IMPROVEMENT = np.array([3.5, 4.0, 4.2, 4.3, 4.1, 4.0])
TOLERANCE = 1e-4

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({ library(lme4); library(data.table); library(jsonlite) })
d <- as.data.frame(fread(args[1], colClasses = c(patient_id = "character")))
schedule <- c("post", "1w", "1m", "3m", "6m", "12m")
d$etiology <- factor(d$etiology, levels = c("osteoporotic", "pathologic"))
d$timepoint <- factor(d$timepoint, levels = intersect(schedule, d$timepoint))
d$sex <- factor(d$sex, levels = c("F", "M"))
timing <- system.time(
  fit <- lmer(score ~ etiology + timepoint + baseline + age + sex + (1 | patient_id), data = d, REML = TRUE)
)
vc <- as.data.frame(VarCorr(fit))
writeLines(toJSON(list(
  seconds = unname(timing[["elapsed"]]),
  terms = names(fixef(fit)),
  estimate = unname(fixef(fit)),
  se = unname(sqrt(diag(as.matrix(vcov(fit))))),
  patient_variance = vc$vcov[vc$grp == "patient_id"],
  residual_variance = sigma(fit)^2,
  reml_criterion = REMLcrit(fit)
), digits = NA), args[2])
"""


@dataclass(frozen=True)
class Row:
    patients: int
    rows: int
    method: str
    seconds: float
    ratio: float | None  # this method's time / ours (design + fit)
    max_relative_difference: float | None
    note: str = ""


def synthetic_follow_ups(n_patients: int, *, missing: float, seed: int) -> pd.DataFrame:
    """One row per follow-up assessment; each scheduled follow-up is missing with probability ``missing``."""
    rng = np.random.default_rng(seed)
    pathologic = rng.random(n_patients) < 0.1
    male = rng.random(n_patients) < 0.28
    age = np.clip(np.round(rng.normal(72, 10, n_patients)), 22, 95)
    baseline = np.clip(np.round(rng.normal(7.2, 1.8, n_patients)), 1, 10)
    patient_effect = rng.normal(0, 1.2, n_patients)

    present = rng.random((n_patients, len(SCHEDULE))) >= missing
    patient, timepoint = np.nonzero(present)
    mean = (
        baseline[patient]
        - IMPROVEMENT[timepoint]
        + 0.8 * pathologic[patient]
        + 0.02 * (age[patient] - 72)
        - 0.3 * male[patient]
        + patient_effect[patient]
    )
    score = np.clip(np.round(mean + rng.normal(0, 1.3, len(patient))), 0, 10)
    ids = np.char.add("P", np.char.zfill(np.arange(1, n_patients + 1).astype(str), 7)).astype(object)
    return pd.DataFrame(
        {
            "patient_id": ids[patient],
            "etiology": np.where(pathologic, "pathologic", "osteoporotic")[patient],
            "sex": np.where(male, "M", "F")[patient],
            "age": age[patient],
            "baseline": baseline[patient],
            "timepoint": np.array(SCHEDULE, dtype=object)[timepoint],
            "score": score,
        }
    )


def study_design(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """y, X, groups and column names with R's treatment contrasts (as lmer builds them)."""
    timepoint_codes = pd.Categorical(frame["timepoint"], categories=SCHEDULE).codes
    present = [i for i in range(len(SCHEDULE)) if np.any(timepoint_codes == i)]
    columns = [np.ones(len(frame)), (frame["etiology"].to_numpy() == "pathologic")]
    names = ["(Intercept)", "etiologypathologic"]
    for i in present[1:]:
        columns.append(timepoint_codes == i)
        names.append(f"timepoint{SCHEDULE[i]}")
    columns += [frame["baseline"].to_numpy(), frame["age"].to_numpy(), frame["sex"].to_numpy() == "M"]
    names += ["baseline", "age", "sexM"]
    X = np.column_stack(columns).astype(np.float64)
    return frame["score"].to_numpy(np.float64), X, frame["patient_id"].to_numpy(), names


def time_ours(frame: pd.DataFrame, repeats: int) -> tuple[RandomInterceptFit, float, float, float]:
    """(fit, median design+fit seconds, median fit-only seconds, first-call design+fit seconds)."""

    def once() -> tuple[RandomInterceptFit, float, float]:
        start = time.perf_counter()
        y, X, groups, names = study_design(frame)
        designed = time.perf_counter()
        fit = fit_random_intercept(y, X, groups, column_names=names)
        done = time.perf_counter()
        return fit, done - start, done - designed

    fit, first, _ = once()
    runs = [once() for _ in range(repeats)]
    return (
        fit,
        statistics.median(run[1] for run in runs),
        statistics.median(run[2] for run in runs),
        first,
    )


def summary_vector(estimate, se, patient_variance, residual_variance) -> np.ndarray:
    return np.concatenate([np.asarray(estimate), np.asarray(se), [patient_variance, residual_variance]])


def ours_vector(fit: RandomInterceptFit) -> np.ndarray:
    return summary_vector(
        fit.coefficients["estimate"], fit.coefficients["se"], fit.patient_variance, fit.residual_variance
    )


def max_relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def time_statsmodels(frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    from statsmodels.regression.mixed_linear_model import MixedLM

    y, X, groups, _ = study_design(frame)
    start = time.perf_counter()
    result = MixedLM(y, X, groups=groups).fit(reml=True)
    seconds = time.perf_counter() - start
    vector = summary_vector(result.fe_params, result.bse_fe, float(np.asarray(result.cov_re)[0, 0]), result.scale)
    return vector, seconds


def lme4_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "quit(status = !all(sapply(c('lme4', 'data.table', 'jsonlite'), requireNamespace)))"],
        capture_output=True,
    )
    return probe.returncode == 0


def time_lme4(frame: pd.DataFrame, workdir: Path) -> tuple[dict, float]:
    """lme4's result (with its own lmer-only seconds) and the whole Rscript wall time."""
    data_path, result_path, script_path = workdir / "data.csv", workdir / "lmer.json", workdir / "fit.R"
    frame.to_csv(data_path, index=False)
    script_path.write_text(R_SCRIPT)
    start = time.perf_counter()
    subprocess.run(["Rscript", str(script_path), str(data_path), str(result_path)], check=True, capture_output=True)
    total = time.perf_counter() - start
    return json.loads(result_path.read_text()), total


def patients_for_rows(rows: int, missing: float) -> int:
    return int(np.ceil(rows / (len(SCHEDULE) * (1.0 - missing))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[20_000, 150_000], help="cohort sizes to compare")
    parser.add_argument("--million-rows", type=int, default=1_000_000, help="rows for the ours-only case (0: skip)")
    parser.add_argument("--missing", type=float, default=0.02, help="probability that a follow-up is missing")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of ours (median reported)")
    parser.add_argument("--statsmodels-max-patients", type=int, default=20_000, help="largest cohort for statsmodels")
    parser.add_argument("--no-r", action="store_true", help="skip lme4 even when Rscript is installed")
    args = parser.parse_args()

    console = Console(width=None if sys.stdout.isatty() else 150)
    with_r = not args.no_r and lme4_available()
    if not with_r:
        console.print("[yellow]lme4 comparison skipped (--no-r, or Rscript/lme4/data.table/jsonlite missing)[/]")
    results: list[Row] = []
    failures: list[str] = []

    cases = [(n, None) for n in args.patients]
    if args.million_rows:
        # A few more patients than needed on average, then exactly the requested rows (the last
        # patient may lose some follow-ups, as patients do).
        cases.append((patients_for_rows(int(args.million_rows * 1.01), args.missing), args.million_rows))
    for n_patients, exact_rows in cases:
        compare = exact_rows is None
        frame = synthetic_follow_ups(n_patients, missing=args.missing, seed=n_patients)
        if exact_rows is not None:
            frame = frame.iloc[:exact_rows]
            n_patients = frame["patient_id"].nunique()
        n_rows = len(frame)
        console.print(f"[bold]{n_patients:,} patients, {n_rows:,} rows[/]")
        fit, design_and_fit, fit_only, first = time_ours(frame, args.repeats)
        ours = ours_vector(fit)
        results.append(Row(n_patients, n_rows, "ours: design + fit", design_and_fit, 1.0, None,
                           f"first call {first:.3f} s"))
        results.append(Row(n_patients, n_rows, "ours: fit only", fit_only, fit_only / design_and_fit, None))
        if not compare:
            continue
        if with_r:
            with tempfile.TemporaryDirectory() as tmp:
                lmer, total = time_lme4(frame, Path(tmp))
            assert lmer["terms"] == list(fit.coefficients.index), (lmer["terms"], list(fit.coefficients.index))
            theirs = summary_vector(
                lmer["estimate"], lmer["se"], lmer["patient_variance"][0], lmer["residual_variance"][0]
            )
            difference = max(max_relative_difference(ours, theirs),
                             abs(fit.reml_criterion / lmer["reml_criterion"][0] - 1.0))
            seconds = lmer["seconds"][0]
            results.append(Row(n_patients, n_rows, "lme4: lmer()", seconds, seconds / design_and_fit, difference))
            results.append(Row(n_patients, n_rows, "lme4: whole Rscript", total, total / design_and_fit, None,
                               "start-up + fread + lmer"))
            if difference > TOLERANCE:
                failures.append(f"lme4 differs by {difference:.2e} at {n_patients:,} patients")
        if n_patients <= args.statsmodels_max_patients:
            console.print("  statsmodels MixedLM (one run, slow) ...")
            theirs, seconds = time_statsmodels(frame)
            difference = max_relative_difference(ours, theirs)
            results.append(
                Row(n_patients, n_rows, "statsmodels MixedLM", seconds, seconds / design_and_fit, difference)
            )
            if difference > TOLERANCE:
                failures.append(f"statsmodels differs by {difference:.2e} at {n_patients:,} patients")

    table = Table(title="Random-intercept REML fit: score ~ etiology + timepoint + baseline + age + sex + (1|patient)")
    for column in ("patients", "rows", "method", "seconds", "× ours", "max rel. diff", "note"):
        table.add_column(column, justify="left" if column in ("method", "note") else "right")
    for row in results:
        table.add_row(
            f"{row.patients:,}", f"{row.rows:,}", row.method, f"{row.seconds:.3f}",
            "" if row.ratio is None else f"{row.ratio:.1f}",
            "" if row.max_relative_difference is None else f"{row.max_relative_difference:.1e}",
            row.note,
        )
    console.print(table)
    console.print("× ours = that method's seconds / ours (design + fit); above 1 means ours is faster.")
    if failures:
        console.print(f"[bold red]DISAGREEMENT beyond {TOLERANCE:g}:[/] " + "; ".join(failures))
        sys.exit(1)
    console.print(f"[green]All compared estimates agree within {TOLERANCE:g} relative.[/]")


if __name__ == "__main__":
    main()
