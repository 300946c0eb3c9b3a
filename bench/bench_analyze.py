"""Benchmark: a whole ``vertebro analyze --csv FILE --json`` on a synthetic cohort of 100k patients.

Run: ``.venv/bin/python bench/bench_analyze.py`` (``--help`` for options). The cohort comes from
``vertebro synth --patients N --out FILE`` when that command exists, otherwise from a flat CSV made here
(a de-identified export: patient_id, sex, age, etiology, timepoint, days, vps, recurrent_pain; baseline
plus up to six follow-ups per patient). Each command runs as a fresh process, as a user would run it.

Baselines timed in the same invocation, for the ratios:
- ``vertebro --help``: interpreter and CLI start-up, the floor of any command;
- ``pandas.read_csv`` of the same file in this process: the floor of reading the input.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

VERTEBRO = str(Path(sys.executable).parent / "vertebro")
# (code, typical day, first day, last day) of each scheduled timepoint (vertebro.domain.timepoints).
TIMEPOINTS = [
    ("baseline", -3, -30, 0),
    ("post", 1, 0, 2),
    ("1w", 7, 3, 14),
    ("1m", 30, 15, 60),
    ("3m", 90, 61, 135),
    ("6m", 180, 136, 270),
    ("12m", 365, 271, 545),
]
IMPROVEMENT = np.array([0.0, 3.5, 4.0, 4.2, 4.3, 4.1, 4.0])  # assumed, by timepoint


def run(command: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    return completed, time.perf_counter() - start


def synth_available() -> bool:
    completed, _ = run([VERTEBRO, "synth", "--help"])
    return completed.returncode == 0


def write_flat_cohort(path: Path, n_patients: int, seed: int) -> None:
    """A flat CSV shaped like the study: ~10% pathologic, follow-ups missing more often later."""
    rng = np.random.default_rng(seed)
    pathologic = rng.random(n_patients) < 0.1
    male = rng.random(n_patients) < 0.28
    age = np.clip(np.round(rng.normal(72, 10, n_patients)), 22, 95).astype(int)
    baseline = np.clip(np.round(rng.normal(7.2, 1.8, n_patients)), 1, 10)
    patient_effect = rng.normal(0, 1.2, n_patients)
    keep = rng.random((n_patients, len(TIMEPOINTS))) >= np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    patient, timepoint = np.nonzero(keep)

    typical = np.array([tp[1] for tp in TIMEPOINTS])
    first = np.array([tp[2] for tp in TIMEPOINTS])
    last = np.array([tp[3] for tp in TIMEPOINTS])
    jitter = np.round(rng.normal(0, 0.1, len(patient)) * np.abs(typical[timepoint])).astype(int)
    days = np.clip(typical[timepoint] + jitter, first[timepoint], last[timepoint])

    follow_up = timepoint > 0
    mean = np.where(
        follow_up,
        baseline[patient] - IMPROVEMENT[timepoint] + 0.8 * pathologic[patient] + patient_effect[patient],
        baseline[patient],
    )
    noise = np.where(follow_up, rng.normal(0, 1.3, len(patient)), 0.0)
    vps = np.clip(np.round(mean + noise), 0, 10).astype(int)
    recurrent = np.where(follow_up, (rng.random(len(patient)) < 0.05 + 0.02 * timepoint).astype(int).astype(str), "")

    ids = np.char.add("P", np.char.zfill(np.arange(1, n_patients + 1).astype(str), 7))
    pd.DataFrame(
        {
            "patient_id": ids[patient],
            "sex": np.where(male, "M", "F")[patient],
            "age": age[patient],
            "etiology": np.where(pathologic, "pathologic", "osteoporotic")[patient],
            "timepoint": np.array([tp[0] for tp in TIMEPOINTS])[timepoint],
            "days": days,
            "vps": vps,
            "recurrent_pain": recurrent,
        }
    ).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="cohort size")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command (median reported)")
    parser.add_argument("--own-generator", action="store_true", help="do not use `vertebro synth` even if present")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 150)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.csv"
        if not args.own_generator and synth_available():
            source = "vertebro synth"
            completed, seconds = run([VERTEBRO, "synth", "--patients", str(args.patients), "--out", str(path)])
            if completed.returncode != 0:
                console.print(f"[red]vertebro synth failed:[/]\n{completed.stderr}")
                sys.exit(1)
        else:
            source = "bench_analyze.py's own generator"
            start = time.perf_counter()
            write_flat_cohort(path, args.patients, seed=args.patients)
            seconds = time.perf_counter() - start
        n_rows = sum(1 for _ in path.open()) - 1
        console.print(f"cohort: {args.patients:,} patients, {n_rows:,} rows, from {source} in {seconds:.1f} s")

        def median_seconds(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
            times, completed = [], None
            for _ in range(args.repeats):
                completed, seconds = run(command)
                if completed.returncode != 0:
                    console.print(f"[red]{' '.join(command)} failed:[/]\n{completed.stderr[-3000:]}")
                    sys.exit(1)
                times.append(seconds)
            return statistics.median(times), completed

        startup, _ = median_seconds([VERTEBRO, "--help"])
        read_times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            pd.read_csv(path, dtype=str, keep_default_na=False)
            read_times.append(time.perf_counter() - start)
        read_csv = statistics.median(read_times)
        analyze, completed = median_seconds([VERTEBRO, "analyze", "--csv", str(path), "--json"])

    result = json.loads(completed.stdout)
    if result.get("schema") != "vertebro.analysis/1":
        console.print(f"[red]unexpected schema {result.get('schema')!r}[/]")
        sys.exit(1)
    mixed = result.get("mixed_model") or {}

    table = Table(title=f"vertebro analyze --csv FILE --json on {args.patients:,} patients ({n_rows:,} rows)")
    for column in ("step", "seconds (median)", "× read_csv", "× start-up"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, seconds in (
        ("vertebro --help (start-up)", startup),
        ("pandas.read_csv of the file", read_csv),
        ("vertebro analyze --csv FILE --json", analyze),
    ):
        table.add_row(step, f"{seconds:.2f}", f"{seconds / read_csv:.1f}", f"{seconds / startup:.1f}")
    console.print(table)
    console.print(
        f"mixed model in the output: {mixed.get('n_observations')} observations, "
        f"{mixed.get('n_patients')} patients, etiology difference {mixed.get('etiology_difference')}"
    )


if __name__ == "__main__":
    main()
