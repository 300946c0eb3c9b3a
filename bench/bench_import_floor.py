"""Benchmark: how fast can the database itself store what an import of the file produces?

Run: ``.venv/bin/python bench/bench_import_floor.py`` (``--help`` for options; default about 1,000,000
assessment rows from ``vertebro synth``, the same file as ``bench_import.py``).

``bench_import.py`` measures the whole import against each database's own CSV loader. This script
asks what the best possible import could reach: it takes the rows an import produces — already
read, validated and split into patients, procedures, fractures, treated levels, follow-ups and pain
assessments — and has the database store them with no Python in the loop, in one transaction, the
way the import's own bulk path does. Whatever reading, validating and planning cost comes on top, so
each figure here is a floor under the import's ratio, measured in the same invocation as the loader
it is compared with.

SQLite (``ATTACH`` the imported registry, one ``INSERT … SELECT`` per table, ``COMMIT``; WAL,
``synchronous=NORMAL``, foreign keys on, a 256 MB page cache, as the registry's connection and the
import set them):

- **registry schema** — a new migrated registry: every CHECK, foreign key, unique constraint and
  index of the schema, and the ``created_at``/``updated_at`` columns;
- **no secondary indexes** — the same, with the indexes that enforce no rule dropped first;
- **bare tables** — ids and values only: no timestamps, constraints, keys or indexes.

PostgreSQL (binary ``COPY`` of the six tables, dumped from an imported registry, in one
transaction; the import's own strategy for a large load):

- **registry schema** — as the import's own bulk-load mode: primary keys and CHECK constraints stay,
  unique constraints, foreign keys and secondary indexes are dropped, the rows copied, then every one
  of them created again before ``COMMIT``;
- **bare tables** — ids and values only, as above.

The import's own reading and validation (its first two stages, timed by its progress reports in
``bench_import.py``) are measured here too, in a fresh process, so the table can show the floor of
the whole import: the fastest storage plus reading and validating the file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import PYTHON, ROOT, _drop_postgres, _measure_vertebro, _postgres, _psql_copy, _sqlite_import, cohort_arguments, cohort_file  # noqa: E402

TABLES = ("patient", "procedure", "fracture", "treatedlevel", "followup", "painassessment")
STAMPS = ("created_at", "updated_at")
PARENTS = ("registry_site", "registry_importbatch")
SQLITE_CACHE_KIB = 262_144

_READ_AND_VALIDATE = """
import sys, time
from pathlib import Path
from vertebro.registry.bootstrap import setup_django
setup_django()
from vertebro.interop.flat_validate import validate_flat_frame
from vertebro.interop.tabular import file_sha256, read_table
start = time.perf_counter()
path = Path(sys.argv[1])
table = read_table(path)
file_sha256(path)
validation = validate_flat_frame(table.frame, lines=table.lines)
assert len(validation.problems) == 0, validation.problems.head()
print(time.perf_counter() - start)
"""


def _init_registry(database_url: str) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    subprocess.run([str(Path(PYTHON).parent / "vertebro"), "init"], check=True, capture_output=True, env=env, cwd=ROOT)


def _read_and_validate(csv_path: Path) -> float:
    result = subprocess.run([PYTHON, "-c", _READ_AND_VALIDATE, str(csv_path)], check=True, capture_output=True, text=True, cwd=ROOT)
    return float(result.stdout.strip().splitlines()[-1])


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _sqlite_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]


def _sqlite_store(source: Path, template: Path, target: Path, variant: str) -> float:
    """Seconds to copy the six tables of ``source`` into ``target`` (a copy of ``template``) and commit."""
    _remove_sqlite(target)
    shutil.copyfile(template, target)
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    columns: dict[str, list[str]] = {}
    for name in TABLES:
        table = f"registry_{name}"
        columns[table] = _sqlite_columns(connection, table)
        if variant == "no secondary indexes":
            for (index,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'", (table,)).fetchall():
                connection.execute(f'DROP INDEX "{index}"')
        elif variant == "bare tables":
            columns[table] = [c for c in columns[table] if c not in STAMPS]
            connection.execute("PRAGMA foreign_keys=OFF")
            connection.execute(f'DROP TABLE "{table}"')
            connection.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, ' + ", ".join(f'"{c}"' for c in columns[table] if c != "id") + ")")
    connection.execute("ATTACH ? AS source", (str(source),))
    for parent in PARENTS:  # what the rows refer to, stored untimed
        connection.execute(f'INSERT INTO main."{parent}" SELECT * FROM source."{parent}"')
    for table in columns:  # the source's pages come from the OS cache in every variant
        connection.execute(f'SELECT count(*) FROM source."{table}"').fetchone()
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    for table, names in columns.items():
        listed = ", ".join(f'"{c}"' for c in names)
        connection.execute(f'INSERT INTO main."{table}" ({listed}) SELECT {listed} FROM source."{table}" ORDER BY id')
    connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    _remove_sqlite(target)
    return seconds


def _pg_dump(url: str, folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Dump each table of an imported registry to two binary COPY files (all columns; no timestamps)."""
    import psycopg

    columns: dict[str, tuple[list[str], list[str]]] = {}
    with psycopg.connect(url) as connection:
        for name in TABLES:
            table = f"registry_{name}"
            rows = connection.execute(
                "SELECT column_name, format_type(a.atttypid, a.atttypmod) FROM information_schema.columns c "
                "JOIN pg_attribute a ON a.attrelid = c.table_name::regclass AND a.attname = c.column_name "
                "WHERE c.table_name = %s ORDER BY c.ordinal_position",
                [table],
            ).fetchall()
            every = [f'"{c}"' for c, _ in rows]
            bare = [f'"{c}" {kind}' for c, kind in rows if c not in STAMPS]
            columns[table] = (every, bare)
            for kind, listed in (("all", every), ("bare", [c.split(" ")[0] for c in bare])):
                with (folder / f"{table}.{kind}.bin").open("wb") as out, connection.cursor().copy(
                    f'COPY (SELECT {", ".join(listed)} FROM "{table}" ORDER BY id) TO STDOUT (FORMAT binary)'
                ) as copy:
                    for block in copy:
                        out.write(block)
        for parent in PARENTS:
            with (folder / f"{parent}.all.bin").open("wb") as out, connection.cursor().copy(f'COPY "{parent}" TO STDOUT (FORMAT binary)') as copy:
                for block in copy:
                    out.write(block)
    return columns


def _pg_copy_file(cursor, table: str, listed: list[str], path: Path) -> None:  # noqa: ANN001
    columns = "" if listed == ["*"] else f' ({", ".join(listed)})'
    with path.open("rb") as handle, cursor.copy(f'COPY "{table}"{columns} FROM STDIN (FORMAT binary)') as copy:
        while block := handle.read(1 << 20):
            copy.write(block)


def _pg_store(url: str, folder: Path, columns: dict[str, tuple[list[str], list[str]]], variant: str) -> tuple[float, float]:
    """Seconds to COPY the dumped rows into the database at ``url`` (migrated, or empty for bare), and
    seconds in all once keys, constraints and indexes are rebuilt and the transaction committed."""
    import psycopg

    with psycopg.connect(url) as connection:
        rebuild: list[str] = []
        if variant == "bare tables":
            for table, (_, bare) in columns.items():
                connection.execute(f'CREATE TABLE "{table}" ({", ".join(bare)})')
        else:
            with connection.cursor() as cursor:  # what the rows refer to, stored untimed
                for parent in PARENTS:
                    _pg_copy_file(cursor, parent, ["*"], folder / f"{parent}.all.bin")
            connection.commit()
            tables = [f"registry_{name}" for name in TABLES]
            # As the import's PostgresBulkLoad does: primary keys and CHECKs stay; unique constraints,
            # foreign keys and secondary indexes are dropped and made again before COMMIT.
            constraints = connection.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype IN ('f', 'u') AND conrelid::regclass::text = ANY(%s) ORDER BY contype DESC, conname",
                [tables],
            ).fetchall()
            indexes = connection.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [tables],
            ).fetchall()
            for table, name, _ in reversed(constraints):
                connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                connection.execute(f"DROP INDEX {name}")
            rebuild = ["SET LOCAL maintenance_work_mem = '256MB'"] + [d for _, d in indexes]
            rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in constraints]
        connection.commit()
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for table, (every, bare) in columns.items():
                listed = every if variant != "bare tables" else [c.split(" ")[0] for c in bare]
                kind = "all" if variant != "bare tables" else "bare"
                _pg_copy_file(cursor, table, listed, folder / f"{table}.{kind}.bin")
            copied = time.perf_counter() - start
            for statement in rebuild:
                cursor.execute(statement)
        connection.commit()
        return copied, time.perf_counter() - start


def main() -> int:
    args = cohort_arguments(__doc__.splitlines()[0])

    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    sqlite3_cli, psql = shutil.which("sqlite3"), shutil.which("psql")
    if sqlite3_cli is None:
        console.print("[red]sqlite3 is not installed: apt-get install sqlite3[/]")
        return 2
    rows_out: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench_floor_") as tmp:
        folder = Path(tmp)
        csv_path, rows = cohort_file(args, folder, console)

        with console.status("reading and validating the file (the import's first two stages) …"):
            python_floor = statistics.median(_read_and_validate(csv_path) for _ in range(args.repeats))

        source, template = folder / "imported.sqlite3", folder / "template.sqlite3"
        with console.status("importing the file once into SQLite (untimed: the rows to store) …"):
            _measure_vertebro(f"sqlite:///{source}", csv_path)
            _init_registry(f"sqlite:///{template}")
        variants = ("registry schema", "no secondary indexes", "bare tables")
        loader, stored = [], {v: [] for v in variants}
        for i in range(args.repeats):
            with console.status(f"SQLite, repeat {i + 1} of {args.repeats} …"):
                loader.append(_sqlite_import(sqlite3_cli, csv_path, folder)[0])
                for variant in variants:
                    stored[variant].append(_sqlite_store(source, template, folder / "target.sqlite3", variant))
        base = statistics.median(loader)
        rows_out.append(("SQLite", "sqlite3 .import (bare table, the baseline)", base, 1.0))
        for variant in variants:
            rows_out.append(("SQLite", f"store the imported rows: {variant}", statistics.median(stored[variant]), statistics.median(stored[variant]) / base))

        pg_note = ""
        try:
            if psql is None:
                raise RuntimeError("psql is not installed")
            name = f"vertebro_floor_{os.getpid()}"
            made: list[str] = []
            try:
                source_url = _postgres(args.postgres, name + "_source")
                made.append(name + "_source")
                with console.status("importing the file once into PostgreSQL (untimed) and dumping its tables …"):
                    _measure_vertebro(source_url, csv_path)
                    columns = _pg_dump(source_url, folder)
                bare_url = _postgres(args.postgres, name + "_bare")
                made.append(name + "_bare")
                pg_variants = ("registry schema", "bare tables")
                copy, pg_stored = [], {v: [] for v in pg_variants}
                for i in range(args.repeats):
                    with console.status(f"PostgreSQL, repeat {i + 1} of {args.repeats} …"):
                        copy.append(_psql_copy(psql, bare_url, csv_path)[0])
                        for variant in pg_variants:
                            target = _postgres(args.postgres, name + "_target")
                            made.append(name + "_target")
                            if variant != "bare tables":
                                _init_registry(target)
                            pg_stored[variant].append(_pg_store(target, folder, columns, variant))
                            _drop_postgres(args.postgres, name + "_target")
                pg_base = statistics.median(copy)
                rows_out.append(("PostgreSQL", "psql \\copy (bare table, the baseline)", pg_base, 1.0))
                for variant in pg_variants:
                    seconds = statistics.median(t for _, t in pg_stored[variant])
                    rows_out.append(("PostgreSQL", f"store the imported rows: {variant}", seconds, seconds / pg_base))
                    if variant == "registry schema":
                        copied = statistics.median(c for c, _ in pg_stored[variant])
                        rows_out.append(("PostgreSQL", "  of which COPY (primary keys and CHECKs on; the rest rebuilt after)", copied, copied / pg_base))
            finally:
                for database in set(made):
                    _drop_postgres(args.postgres, database)
        except Exception as exc:  # the PostgreSQL half is optional on machines without a server
            pg_note = f"PostgreSQL skipped: {exc}"

    table = Table(title=f"The database's own floor for an import of {rows:,} rows (median of {args.repeats}; load average {os.getloadavg()[0]:.1f})")
    for heading in ("database", "what is timed", "wall s", "× loader", "+ read and validate, × loader"):
        table.add_column(heading, justify="left" if heading in ("database", "what is timed") else "right")
    bases = {db: seconds for db, what, seconds, ratio in rows_out if ratio == 1.0 and "baseline" in what}
    for database, what, seconds, ratio in rows_out:
        with_python = "" if "baseline" in what or "of which" in what else f"{(seconds + python_floor) / bases[database]:.1f}"
        table.add_row(database, what, f"{seconds:.2f}", f"{ratio:.1f}", with_python)
    console.print(table)
    console.print(f"Reading and validating the file (vertebro's read_table, file_sha256 and validate_flat_frame, in a fresh process): {python_floor:.2f} s.")
    if pg_note:
        console.print(f"[yellow]{pg_note}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
