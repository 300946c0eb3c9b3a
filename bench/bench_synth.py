"""Benchmark: synthetic cohort throughput (patients per second), against writing the same rows from memory.

Run: ``.venv/bin/python bench/bench_synth.py`` (``--help`` for options; default 100k patients, median of
3 runs after a warm-up).

What is timed, all in this one invocation and on the same rows:

- **vertebro synth** — :func:`vertebro.synth.write_cohort`: draws the cohort (exact figures, chunk by
  chunk), formats it and writes the CSV file. Everything from nothing to the file.
- **pandas to_csv** — ``DataFrame.to_csv`` of the very same rows, already in memory as a DataFrame of
  strings (read back from our file, so the output is byte-identical — checked): the cost of only
  *writing* this CSV with pandas.
- **csv module** — :func:`csv.writer` ``writerows`` of the same rows as Python lists of strings, also
  already in memory (also byte-identical — checked).

Ratios are baseline seconds / synth seconds: above 1 means generating *and* writing the cohort is faster
than a standard library merely writing rows it already holds.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from vertebro.synth import write_cohort


def timed(action, repeats: int) -> tuple[float, float]:
    """(first call, median of ``repeats`` further calls), in seconds."""
    start = time.perf_counter()
    action()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="cohort size (default 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up (default 3)")
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args()
    console = Console(width=120)

    with tempfile.TemporaryDirectory(prefix="bench_synth_") as folder:
        ours_path, pandas_path, csv_path = (Path(folder) / name for name in ("synth.csv", "pandas.csv", "csvmod.csv"))
        summary = write_cohort(ours_path, args.patients, args.seed)
        expected = ours_path.read_bytes()
        frame = pd.read_csv(ours_path, dtype=str, keep_default_na=False)
        rows = frame.to_numpy().tolist()
        header = list(frame.columns)

        def ours() -> None:
            write_cohort(ours_path, args.patients, args.seed)

        def with_pandas() -> None:
            frame.to_csv(pandas_path, index=False)

        def with_csv_module() -> None:
            with open(csv_path, "w", newline="", encoding="ascii") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)

        results = [("vertebro synth (generate + write)", *timed(ours, args.repeats))]
        results.append(("pandas DataFrame.to_csv (write only)", *timed(with_pandas, args.repeats)))
        results.append(("csv.writer writerows (write only)", *timed(with_csv_module, args.repeats)))
        identical = {
            "pandas": pandas_path.read_bytes() == expected,
            "csv": csv_path.read_bytes() == expected,
            "synth rerun": ours_path.read_bytes() == expected,
        }

    ours_seconds = results[0][2]
    table = Table(
        title=f"Synthetic cohort: {summary.patients:,} patients, {summary.rows:,} rows, {summary.bytes / 1e6:.1f} MB"
    )
    for column in ("method", "first call s", "median s", "patients / s", "rows / s", "baseline ÷ synth"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, first, median in results:
        table.add_row(
            name,
            f"{first:.3f}",
            f"{median:.3f}",
            f"{summary.patients / median:,.0f}",
            f"{summary.rows / median:,.0f}",
            f"{median / ours_seconds:.2f}",
        )
    console.print(table)
    console.print(
        "Same bytes as the synth file: "
        + ", ".join(f"{name} {'yes' if same else 'NO'}" for name, same in identical.items())
    )
    console.print(f"Command: {Path(sys.executable).name} bench/bench_synth.py --patients {args.patients} --repeats {args.repeats}")
    return 0 if all(identical.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
