"""An import killed with SIGKILL half-way leaves the registry as it was — but for the record of the
attempt, which stays ``running`` and is named by `vertebro db check` — its integrity check clean, and
the same import run again succeeds. Real processes and real commits, on a file SQLite database
and on PostgreSQL (the test database fixtures cannot do this: they never commit)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from vertebro.synth import write_cohort

from .flat_rows import flat_rows

TABLES = ("registry_patient", "registry_procedure", "registry_fracture", "registry_treatedlevel",
          "registry_followup", "registry_painassessment", "registry_importbatch", "registry_site")
IMPORTS = "registry_importbatch"


def _vertebro(url: str, *args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url, COLUMNS="400")  # wide: table cells on one line
    command = [sys.executable, "-m", "vertebro.cli", *args]
    if kwargs.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _prepare(url: str, tmp_path: Path) -> Path:
    assert _vertebro(url, "init").returncode == 0
    seed = tmp_path / "seed.csv"
    flat_rows(3).assign(site="SITE-A").to_csv(seed, index=False)  # the synthetic cohort's site: a known one
    done = _vertebro(url, "import", str(seed))
    assert done.returncode == 0, done.stderr
    big = tmp_path / "cohort.csv"
    write_cohort(big, 12_000, 7)  # ~70k rows: a few seconds of writing
    return big


def _kill_while_writing(process: subprocess.Popen, writing) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 120
    while not writing():
        assert process.poll() is None, f"the import ended before it could be killed: {process.stderr.read()!r}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the write transaction
    assert process.poll() is None, "the import finished before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _assert_only_the_attempt_was_recorded(before: dict, after: dict, imports: list[tuple]) -> None:
    """Every table as it was, but one more import record: the killed one, still ``running``."""
    assert {t: v for t, v in after.items() if t != IMPORTS} == {t: v for t, v in before.items() if t != IMPORTS}
    assert after[IMPORTS][0] == before[IMPORTS][0] + 1
    status, file_name, finished_at = imports[-1]
    assert (status, finished_at) == ("running", None) and file_name.endswith("cohort.csv")


def _finish(url: str, big: Path, fingerprint) -> None:  # noqa: ANN001
    check = _vertebro(url, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "The registry is consistent" in check.stdout
    assert "still running, or interrupted" in check.stdout, check.stdout  # the attempt shows
    again = _vertebro(url, "import", str(big))
    assert again.returncode == 0, again.stderr
    rows = sum(1 for _ in big.open()) - 1
    assert fingerprint()["registry_painassessment"][0] == rows + 12


def _tables_fingerprint(connection) -> dict[str, tuple[int, str]]:  # noqa: ANN001 - sqlite3 or psycopg
    """Row count and a hash of every row of each registry table: equal fingerprints, equal registries."""
    out = {}
    for table in TABLES:
        rows = connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def test_sigkill_during_a_sqlite_import_leaves_the_registry_unchanged(tmp_path):
    database = tmp_path / "registry.sqlite3"
    url = f"sqlite:///{database}"
    big = _prepare(url, tmp_path)

    def fingerprint() -> dict[str, tuple[int, str]]:
        connection = sqlite3.connect(database)
        try:
            return _tables_fingerprint(connection)
        finally:
            connection.close()

    def writing() -> bool:
        probe = sqlite3.connect(database, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True  # the import holds the write lock: its transaction is open
        finally:
            probe.close()

    before = fingerprint()
    process = _vertebro(url, "import", str(big), background=True)
    _kill_while_writing(process, writing)
    with sqlite3.connect(database) as connection:
        imports = connection.execute(f"SELECT status, file_name, finished_at FROM {IMPORTS} ORDER BY id").fetchall()
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    _assert_only_the_attempt_was_recorded(before, fingerprint(), imports)
    _finish(url, big, fingerprint)


@pytest.mark.database
@pytest.mark.postgres_only
def test_sigkill_during_a_postgres_import_leaves_the_registry_unchanged(tmp_path):
    import psycopg

    server = os.environ["DATABASE_URL"]
    name = f"vertebro_kill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        big = _prepare(url, tmp_path)

        def fingerprint() -> dict[str, tuple[int, str]]:
            with psycopg.connect(url) as connection:
                return _tables_fingerprint(connection)

        def writing() -> bool:
            with psycopg.connect(url) as connection:
                held = connection.execute(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'registry_painassessment'::regclass "
                    "AND pid <> pg_backend_pid() AND granted AND mode IN ('ShareRowExclusiveLock', 'AccessExclusiveLock')"
                ).fetchone()[0]
            return held > 0

        before = fingerprint()
        process = _vertebro(url, "import", str(big), background=True)
        _kill_while_writing(process, writing)
        deadline = time.monotonic() + 30
        while writing() and time.monotonic() < deadline:  # the server notices the dead client and rolls back
            time.sleep(0.05)
        with psycopg.connect(url) as connection:
            imports = connection.execute(f"SELECT status, file_name, finished_at FROM {IMPORTS} ORDER BY id").fetchall()
        _assert_only_the_attempt_was_recorded(before, fingerprint(), imports)
        _finish(url, big, fingerprint)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
