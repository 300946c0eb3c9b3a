"""Benchmark: validated bulk import of the flat format, against each database's own CSV loader.

Run: ``.venv/bin/python bench/bench_import.py`` (``--help`` for options; default about 1,000,000
assessment rows from ``vertebro synth``).

What is timed, on the same file, in this one invocation:

- **sqlite3 .import** — Debian's ``sqlite3`` command loading the CSV into a bare table (no types,
  no constraints, no indexes) of a new database file: ``.mode csv`` then ``.import``. Wall time of the
  ``sqlite3`` process.
- **vertebro → SQLite** — :func:`vertebro.interop.importer.import_flat_file` into a new, migrated
  registry file (``DATABASE_URL=sqlite:///...``): reading the file, validating every row with the domain
  rules and across rows, creating sites, patients, procedures, fractures, treated levels, follow-ups
  and pain assessments under every CHECK, foreign key, unique constraint and index of the schema,
  the audit record, and the commit. Timed inside a fresh Python process after Django has started
  (start-up and migrations are not the import).
- **psql \\copy** — ``psql -c "\\copy bare FROM file CSV HEADER"`` into a bare table of text columns in
  a new PostgreSQL database. Wall time of the ``psql`` process.
- **vertebro → PostgreSQL** — the same import into a new, migrated PostgreSQL registry.

The ratio is vertebro seconds / loader seconds (the issue's goal: at most 2). PostgreSQL runs are
skipped, with a message, when ``--postgres`` cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _run(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def _measure_vertebro(database_url: str, csv_path: Path) -> dict:
    """In a fresh process: migrate (untimed), then time the import; returns the JSON it prints."""
    env = dict(os.environ, DATABASE_URL=database_url)
    script = (
        "import json, time, sys\n"
        "from pathlib import Path\n"
        "from vertebro.registry.bootstrap import setup_django\n"
        "setup_django()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from vertebro.interop.importer import import_flat_file\n"
        "start = time.perf_counter()\n"
        f"outcome = import_flat_file(path=Path({str(csv_path)!r}), os_user='bench')\n"
        "seconds = time.perf_counter() - start\n"
        "print(json.dumps({'seconds': seconds, 'rows': outcome.counts.rows_created, 'records': outcome.counts.records}))\n"
    )
    result = subprocess.run([PYTHON, "-c", script], check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _sqlite_import(sqlite3: str, csv_path: Path, folder: Path) -> float:
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


def _psql_copy(psql: str, url: str, csv_path: Path) -> float:
    columns = ", ".join(f'"{c}" text' for c in _header(csv_path))
    subprocess.run([psql, url, "-q", "-c", f"DROP TABLE IF EXISTS bare; CREATE TABLE bare ({columns})"], check=True, capture_output=True)
    return _run([psql, url, "-q", "-c", f"\\copy bare FROM '{csv_path}' CSV HEADER"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=170_000, help="synthetic patients (default 170000, about 1M rows)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loader; the median is reported (default 3)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a PostgreSQL server URL")
    parser.add_argument("--csv", type=Path, help="import this flat file instead of generating one")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    sqlite3, psql = shutil.which("sqlite3"), shutil.which("psql")
    if sqlite3 is None:
        console.print("[red]sqlite3 is not installed: apt-get install sqlite3[/]")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        folder = Path(tmp)
        csv_path = args.csv or folder / "cohort.csv"
        if args.csv is None:
            from vertebro.synth import write_cohort

            console.print(f"writing {args.patients:,} synthetic patients …")
            write_cohort(csv_path, args.patients, args.seed)
        rows = sum(1 for _ in csv_path.open()) - 1
        results: list[tuple[str, float, float | None, str]] = []

        def median(values: list[float]) -> float:
            return sorted(values)[len(values) // 2]

        loader = median([_sqlite_import(sqlite3, csv_path, folder) for _ in range(args.repeats)])
        ours = []
        for i in range(args.repeats):
            database = folder / f"registry{i}.sqlite3"
            ours.append(_measure_vertebro(f"sqlite:///{database}", csv_path)["seconds"])
            for suffix in ("", "-wal", "-shm"):
                Path(str(database) + suffix).unlink(missing_ok=True)
        results += [("sqlite3 .import (bare table)", loader, None, ""), ("vertebro import → SQLite", median(ours), median(ours) / loader, "")]

        pg_note = ""
        try:
            if psql is None:
                raise RuntimeError("psql is not installed")
            name = f"vertebro_bench_{os.getpid()}"
            base = _postgres(args.postgres, name + "_bare")
            copy = median([_psql_copy(psql, base, csv_path) for _ in range(args.repeats)])
            _drop_postgres(args.postgres, name + "_bare")
            ours_pg = []
            for i in range(args.repeats):
                url = _postgres(args.postgres, f"{name}_{i}")
                try:
                    ours_pg.append(_measure_vertebro(url, csv_path)["seconds"])
                finally:
                    _drop_postgres(args.postgres, f"{name}_{i}")
            results += [("psql \\copy (bare table)", copy, None, ""), ("vertebro import → PostgreSQL", median(ours_pg), median(ours_pg) / copy, "")]
        except Exception as exc:  # the PostgreSQL half is optional on machines without a server
            pg_note = f"PostgreSQL skipped: {exc}"

    table = Table(title=f"Bulk import of {rows:,} assessment rows (median of {args.repeats})")
    table.add_column("loader")
    table.add_column("seconds", justify="right")
    table.add_column("× its database's loader", justify="right")
    for name, seconds, ratio, _ in results:
        table.add_row(name, f"{seconds:.2f}", "" if ratio is None else f"{ratio:.1f}")
    console.print(table)
    if pg_note:
        console.print(f"[yellow]{pg_note}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
