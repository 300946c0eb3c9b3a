"""Benchmark: the two flat-format validators, this tree against a baseline revision, in one run.

Run: ``.venv/bin/python bench/bench_validate.py`` (``--help`` for options; default 100,000 patients of
``vertebro synth``, about 570,000 rows, baseline ``main``).

Issue 12 made one set of rules (``vertebro.domain.flat_rules``) that the import's validator
(``interop.flat_validate.validate_flat_frame``) and the analysis's (``stats.validate.validate_flat``)
both use. This measures that neither became slower: the file is read once as text per process, then
each validator is timed on it (the read is not timed). Baseline and current code run alternately in
fresh processes on the same file (``git archive`` of the baseline revision's ``src`` into a temporary
folder, the same virtualenv), so both see the same load on a shared machine. Each process times each
validator three times and keeps the best (the first call also pays lazy imports); the figure is the
median of that over ``--repeats`` processes, and the ratio is current / baseline (below 1: faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_TIMER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from datetime import date
import pandas as pd
from vertebro.interop.flat_validate import validate_flat_frame
from vertebro.stats.validate import validate_flat
raw = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False, na_filter=False)
out = {"import": [], "analysis": []}
for _ in range(3):  # the best of three in one process: the first call also pays lazy imports
    start = time.perf_counter(); result = validate_flat_frame(raw, today=date(2100, 1, 1)); out["import"].append(time.perf_counter() - start)
    assert result.problems.empty, result.problems.head()
    start = time.perf_counter(); validate_flat(raw, source="bench"); out["analysis"].append(time.perf_counter() - start)
out = {key: min(values) for key, values in out.items()}
out["rows"] = len(raw)
print(json.dumps(out))
"""


def _baseline_src(revision: str, into: Path) -> Path:
    archive = into / "baseline.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000, help="patients of the synthetic file (default 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (default 3; the median is shown)")
    parser.add_argument("--baseline", default="main", help="git revision to compare with (default main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as folder:
        work = Path(folder)
        flat = work / "flat.csv"
        subprocess.run(
            [str(Path(sys.executable).with_name("vertebro")), "synth", "--patients", str(args.patients), "--out", str(flat)],
            check=True, capture_output=True,
        )  # fmt: skip
        sides = {"baseline": _baseline_src(args.baseline, work), "current": ROOT / "src"}
        times: dict[str, dict[str, list[float]]] = {side: {"import": [], "analysis": []} for side in sides}
        rows = 0
        for _ in range(args.repeats):
            for side, src in sides.items():
                done = subprocess.run([sys.executable, "-c", _TIMER, str(src), str(flat)], check=True, capture_output=True, text=True)
                figures = json.loads(done.stdout)
                rows = figures["rows"]
                for validator in ("import", "analysis"):
                    times[side][validator].append(figures[validator])
    print(f"{rows:,} rows ({args.patients:,} patients), median of {args.repeats}, baseline {args.baseline}")
    print(f"{'validator':<10}{'baseline s':>12}{'current s':>12}{'ratio':>8}")
    for validator in ("import", "analysis"):
        base, now = (statistics.median(times[side][validator]) for side in ("baseline", "current"))
        print(f"{validator:<10}{base:>12.3f}{now:>12.3f}{now / base:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
