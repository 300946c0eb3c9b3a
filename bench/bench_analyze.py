"""Benchmark: a whole ``vertebro analyze --csv FILE --json`` on a synthetic cohort of 100k patients.

Run: ``.venv/bin/python bench/bench_analyze.py`` (``--help`` for options). The cohort comes from
``vertebro synth --patients N --out FILE`` when that command exists, otherwise from a flat CSV made here
(a de-identified export: patient_id, site, sex, age, etiology, timepoint, days, vps, recurrent_pain;
baseline plus up to six follow-ups per patient), with ``--sites`` sites either way. Each command runs as a fresh process, as a user would run it.

Baselines timed in the same invocation, for the ratios:
- ``vertebro --help``: interpreter and CLI start-up, the floor of any command;
- ``pandas.read_csv`` of the same file in this process: the floor of reading the input;
- ``vertebro analyze --csv FILE --json --core-only``: the analysis before issue 12 (no missing-data
  sensitivity, sites or benchmarking sections). Issue 12's goal: the whole command with those
  sections stays under 3x this (the "x core-only" column).

Then the same work split into its phases, in a fresh process that times itself: importing the loader
and ``vertebro.stats.analysis``; reading and validating the file (``load_flat_source``); and
``analyze(frame, validated=True)`` (its first call, lazy imports of lifelines included).

Wall seconds on a shared machine move with its load; the CPU seconds (user + system of the child
process) move less, and the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


PHASES = """
import json, sys, time
def now():
    return time.perf_counter(), time.process_time()
start = now()
from pathlib import Path
from vertebro.cli.flat_source import load_flat_source
from vertebro.stats.analysis import analyze
imported = now()
source = load_flat_source(Path(sys.argv[1]))
loaded = now()
analyze(source.frame, validated=True)
done = now()
print(json.dumps({
    name: [b[0] - a[0], b[1] - a[1]]
    for name, a, b in (("import", start, imported), ("load", imported, loaded), ("analyze", loaded, done))
}))
"""


def run(command: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    completed, seconds, _ = run_with_cpu(command)
    return completed, seconds


def run_with_cpu(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """The finished process, its wall seconds and its CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return completed, seconds, cpu


def synth_available() -> bool:
    completed, _ = run([VERTEBRO, "synth", "--help"])
    return completed.returncode == 0


def write_flat_cohort(path: Path, n_patients: int, seed: int, sites: int = 1) -> None:
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
            "site": np.array([f"SITE-{chr(65 + k)}" for k in range(sites)])[np.arange(n_patients) % sites][patient],
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
    parser.add_argument("--sites", type=int, default=8, help="sites of the cohort (the sites and funnel sections need 2+)")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 150)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.csv"
        if not args.own_generator and synth_available():
            source = "vertebro synth"
            completed, seconds = run(
                [VERTEBRO, "synth", "--patients", str(args.patients), "--sites", str(args.sites), "--out", str(path)]
            )
            if completed.returncode != 0:
                console.print(f"[red]vertebro synth failed:[/]\n{completed.stderr}")
                sys.exit(1)
        else:
            source = "bench_analyze.py's own generator"
            start = time.perf_counter()
            write_flat_cohort(path, args.patients, seed=args.patients, sites=args.sites)
            seconds = time.perf_counter() - start
        n_rows = sum(1 for _ in path.open()) - 1
        console.print(f"cohort: {args.patients:,} patients, {n_rows:,} rows, from {source} in {seconds:.1f} s")

        def median_seconds(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
            walls, cpus, completed = [], [], None
            for _ in range(args.repeats):
                completed, seconds, cpu = run_with_cpu(command)
                if completed.returncode != 0:
                    console.print(f"[red]{' '.join(command)} failed:[/]\n{completed.stderr[-3000:]}")
                    sys.exit(1)
                walls.append(seconds)
                cpus.append(cpu)
            return statistics.median(walls), statistics.median(cpus), completed

        startup, startup_cpu, _ = median_seconds([VERTEBRO, "--help"])
        read_walls, read_cpus = [], []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            pd.read_csv(path, dtype=str, keep_default_na=False)
            read_walls.append(time.perf_counter() - wall)
            read_cpus.append(time.process_time() - cpu)
        read_csv, read_cpu = statistics.median(read_walls), statistics.median(read_cpus)
        core, core_cpu, _ = median_seconds([VERTEBRO, "analyze", "--csv", str(path), "--json", "--core-only"])
        analyze, analyze_cpu, completed = median_seconds([VERTEBRO, "analyze", "--csv", str(path), "--json"])
        phases = []
        for _ in range(args.repeats):
            _, _, timed = median_seconds([sys.executable, "-c", PHASES, str(path)])
            phases.append(json.loads(timed.stdout))

    result = json.loads(completed.stdout)
    if result.get("schema") != "vertebro.analysis/1":
        console.print(f"[red]unexpected schema {result.get('schema')!r}[/]")
        sys.exit(1)
    mixed = result.get("mixed_model") or {}

    table = Table(title=f"vertebro analyze --csv FILE --json on {args.patients:,} patients ({n_rows:,} rows)")
    for column in ("step", "wall s (median)", "CPU s (median)", "× read_csv", "× start-up", "× core-only"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, seconds, cpu in (
        ("vertebro --help (start-up)", startup, startup_cpu),
        ("pandas.read_csv of the file", read_csv, read_cpu),
        ("vertebro analyze --csv FILE --json --core-only", core, core_cpu),
        ("vertebro analyze --csv FILE --json", analyze, analyze_cpu),
    ):
        table.add_row(
            step, f"{seconds:.2f}", f"{cpu:.2f}", f"{seconds / read_csv:.1f}", f"{seconds / startup:.1f}", f"{seconds / core:.2f}"
        )
    console.print(table)
    ratio = analyze / core
    verdict = "[green]meets[/]" if ratio < 3 else "[red]misses[/]"
    console.print(f"all sections / core-only: {ratio:.2f}x wall, {analyze_cpu / core_cpu:.2f}x CPU ({verdict} issue 12's goal of < 3x)")

    split = Table(title="The same work by phase (a fresh process timing itself; medians)")
    for column in ("phase", "wall s", "CPU s", "× read_csv (wall)"):
        split.add_column(column, justify="left" if column == "phase" else "right")
    for phase, label in (
        ("import", "import the loader and vertebro.stats.analysis"),
        ("load", "read + validate the CSV (load_flat_source)"),
        ("analyze", "analyze(frame, validated=True)"),
    ):
        seconds = statistics.median(p[phase][0] for p in phases)
        cpu = statistics.median(p[phase][1] for p in phases)
        split.add_row(label, f"{seconds:.2f}", f"{cpu:.2f}", f"{seconds / read_csv:.1f}")
    console.print(split)
    console.print(
        f"mixed model in the output: {mixed.get('n_observations')} observations, "
        f"{mixed.get('n_patients')} patients, etiology difference {mixed.get('etiology_difference')}"
    )
    missing = result.get("missing_data_sensitivity") or {}
    console.print(
        f"missing_data_sensitivity: m = {missing.get('m')}, reason {missing.get('reason')!r}; "
        f"sites: {(result.get('sites') or {}).get('n_sites')} (reason {(result.get('sites') or {}).get('reason')!r}); "
        f"benchmarking outcomes: {sorted(((result.get('benchmarking') or {}).get('outcomes') or {}))}"
    )
    console.print(f"load average during the run: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
