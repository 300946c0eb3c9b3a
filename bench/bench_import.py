"""Benchmark: validated bulk import of the flat format, against each database's own CSV loader.

Run: ``.venv/bin/python bench/bench_import.py`` (``--help`` for options; default about 1,000,000
assessment rows from ``vertebro synth``).

What is timed, on the same file, in this one invocation (each repeat runs a loader and then the
import right after it, so both see the same load on a shared machine):

- **sqlite3 .import** — Debian's ``sqlite3`` command loading the CSV into a bare table (no types,
  no constraints, no indexes) of a new database file: ``.mode csv`` then ``.import``. Wall time of the
  ``sqlite3`` process; CPU is its user + system time.
- **vertebro → SQLite** — :func:`vertebro.interop.importer.import_flat_file` into a new, migrated
  registry file (``DATABASE_URL=sqlite:///...``): reading the file, validating every row with the domain
  rules and across rows, creating sites, patients, procedures, fractures, treated levels, follow-ups
  and pain assessments under every CHECK, foreign key, unique constraint and index of the schema,
  the audit record, and the commit. Timed inside a fresh Python process after Django has started
  (start-up and migrations are not the import); CPU is that process's (SQLite runs inside it).
- **psql \\copy** — ``psql -c "\\copy bare FROM file CSV HEADER"`` into a bare table of text columns in
  a new PostgreSQL database. Wall time of the ``psql`` process (the server's work is not in its CPU).
- **vertebro → PostgreSQL** — the same import into a new, migrated PostgreSQL registry.

The ratio is vertebro wall seconds / loader wall seconds (the issue's goal: at most 2). A second table
splits the import's wall time by stage (from the import's own progress reports). PostgreSQL runs are
skipped, with a message, when ``--postgres`` cannot be reached. The script exits non-zero when an
import did not create one pain assessment per row of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

#: Stages of the import as (label, progress stage that ends it); "commit" ends with the call.
STAGES = (
    ("read the CSV (Arrow)", "validating"),
    ("validate every rule", "reading"),
    ("sites + patients", "patients"),
    ("procedures", "procedures"),
    ("fractures + treated levels", "fractures"),
    ("follow-ups + pain assessments", "assessments"),
    ("rebuild keys and indexes (PostgreSQL)", "done"),
    ("audit record + commit", None),
)


def _run(command: list[str], **kwargs) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


_IMPORT = """
import json, sys, time
from pathlib import Path
from vertebro.registry.bootstrap import setup_django
setup_django()
from django.core.management import call_command
call_command('migrate', verbosity=0)
from vertebro.interop.importer import import_flat_file
marks = []
def progress(stage, done, total):
    marks.append((stage, time.perf_counter()))
cpu, start = time.process_time(), time.perf_counter()
outcome = import_flat_file(path=Path(sys.argv[1]), os_user='bench', progress=progress)
end = time.perf_counter()
print(json.dumps({'seconds': end - start, 'cpu': time.process_time() - cpu, 'rows': outcome.counts.rows_created,
                  'marks': [(stage, t - start) for stage, t in marks], 'end': end - start}))
"""


def _measure_vertebro(database_url: str, csv_path: Path) -> dict:
    """In a fresh process: migrate (untimed), then time the import; returns the JSON it prints."""
    env = dict(os.environ, DATABASE_URL=database_url)
    result = subprocess.run([PYTHON, "-c", _IMPORT, str(csv_path)], check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _stage_seconds(run: dict) -> dict[str, float]:
    """Wall seconds per stage of one import: from the end of the previous stage to its own end.
    A stage's end is the first progress report of its name after the previous stage ended."""
    marks, out, previous = run["marks"], {}, 0.0
    position = 0
    for label, stage in STAGES:
        end = run["end"]
        if stage is not None:
            while position < len(marks) and (marks[position][0] != stage or marks[position][1] < previous):
                position += 1
            end = marks[position][1] if position < len(marks) else previous
        out[label] = end - previous
        previous = end
    return out


def _sqlite_import(sqlite3: str, csv_path: Path, folder: Path) -> tuple[float, float]:
    database = folder / "bare.sqlite3"
    database.unlink(missing_ok=True)
    return _run([sqlite3, str(database), "-cmd", ".mode csv", f".import {csv_path} bare"])


def _header(csv_path: Path) -> list[str]:
    with csv_path.open() as handle:
        return handle.readline().strip().split(",")


def _postgres(url: str, name: str) -> str:
    """A URL to a new database ``name`` on the server of ``url`` (created empty)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def _drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql_copy(psql: str, url: str, csv_path: Path) -> tuple[float, float]:
    columns = ", ".join(f'"{c}" text' for c in _header(csv_path))
    subprocess.run([psql, url, "-q", "-c", f"DROP TABLE IF EXISTS bare; CREATE TABLE bare ({columns})"], check=True, capture_output=True)
    return _run([psql, url, "-q", "-c", f"\\copy bare FROM '{csv_path}' CSV HEADER"])


def cohort_arguments(description: str) -> argparse.Namespace:
    """The options both import benchmarks take: the file (generated or given), repeats, the server."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--patients", type=int, default=170_000, help="synthetic patients (default 170000, about 1M rows)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; the median is reported (default 3)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a PostgreSQL server URL")
    parser.add_argument("--csv", type=Path, help="use this flat file instead of generating one")
    return parser.parse_args()


def cohort_file(args: argparse.Namespace, folder: Path, console) -> tuple[Path, int]:  # noqa: ANN001
    """The flat file to load (``--csv``, or a synthetic cohort written into ``folder``) and its rows."""
    csv_path = args.csv or folder / "cohort.csv"
    if args.csv is None:
        from vertebro.synth import write_cohort

        console.print(f"writing {args.patients:,} synthetic patients …")
        write_cohort(csv_path, args.patients, args.seed)
    with csv_path.open() as handle:
        return csv_path, sum(1 for _ in handle) - 1


def main() -> int:
    args = cohort_arguments(__doc__.splitlines()[0])

    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    sqlite3, psql = shutil.which("sqlite3"), shutil.which("psql")
    if sqlite3 is None:
        console.print("[red]sqlite3 is not installed: apt-get install sqlite3[/]")
        return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        folder = Path(tmp)
        csv_path, rows = cohort_file(args, folder, console)
        results: list[tuple[str, list[tuple[float, float]], list[float] | None]] = []
        imports: dict[str, list[dict]] = {}

        loader, ours = [], []
        for i in range(args.repeats):
            loader.append(_sqlite_import(sqlite3, csv_path, folder))
            database = folder / f"registry{i}.sqlite3"
            run = _measure_vertebro(f"sqlite:///{database}", csv_path)
            ours.append(run)
            for suffix in ("", "-wal", "-shm"):
                Path(str(database) + suffix).unlink(missing_ok=True)
        imports["SQLite"] = ours
        results += [("sqlite3 .import (bare table)", loader, None), ("vertebro import → SQLite", [(r["seconds"], r["cpu"]) for r in ours], [r["seconds"] / l[0] for r, l in zip(ours, loader)])]

        pg_note = ""
        try:
            if psql is None:
                raise RuntimeError("psql is not installed")
            name = f"vertebro_bench_{os.getpid()}"
            base = _postgres(args.postgres, name + "_bare")
            copy, ours_pg = [], []
            try:
                for i in range(args.repeats):
                    copy.append(_psql_copy(psql, base, csv_path))
                    url = _postgres(args.postgres, f"{name}_{i}")
                    try:
                        ours_pg.append(_measure_vertebro(url, csv_path))
                    finally:
                        _drop_postgres(args.postgres, f"{name}_{i}")
            finally:
                _drop_postgres(args.postgres, name + "_bare")
            imports["PostgreSQL"] = ours_pg
            results += [("psql \\copy (bare table)", copy, None), ("vertebro import → PostgreSQL", [(r["seconds"], r["cpu"]) for r in ours_pg], [r["seconds"] / c[0] for r, c in zip(ours_pg, copy)])]
        except Exception as exc:  # the PostgreSQL half is optional on machines without a server
            pg_note = f"PostgreSQL skipped: {exc}"

    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    table = Table(title=f"Bulk import of {rows:,} assessment rows (median of {args.repeats}; {load})")
    table.add_column("loader")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("× its database's loader (wall)", justify="right")
    for name, times, ratios in results:
        wall, cpu = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        table.add_row(name, f"{wall:.2f}", f"{cpu:.2f}", "" if ratios is None else f"{statistics.median(ratios):.1f}")
    console.print(table)
    console.print("CPU of vertebro → PostgreSQL is the Python process only; psql's is the client only (the servers' work is in neither).")

    stages = Table(title="Where the import's wall time goes (seconds, median per stage)")
    stages.add_column("stage")
    for database in imports:
        stages.add_column(database, justify="right")
    per_database = {db: [_stage_seconds(run) for run in runs] for db, runs in imports.items()}
    for label, _ in STAGES:
        stages.add_row(label, *(f"{statistics.median(s[label] for s in per_database[db]):.2f}" for db in imports))
    console.print(stages)
    if pg_note:
        console.print(f"[yellow]{pg_note}[/]")
    wrong = [db for db, runs in imports.items() if any(r["rows"] != rows for r in runs)]
    if wrong:
        console.print(f"[red]the import into {', '.join(wrong)} did not create one assessment per row ({rows:,})[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
