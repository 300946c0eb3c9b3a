"""Storage: DATABASE_URL selects the database; SQLite runs in WAL with immediate transactions and two
writers wait for each other instead of failing."""

import os
import subprocess
import sys
import textwrap

from vertebro.registry.settings import database_config

WRITER = textwrap.dedent(
    """
    import sys, time
    from vertebro.registry.bootstrap import setup_django
    setup_django()
    from django.db import connection, transaction
    from vertebro.registry.services.clinical import site_create
    asked = time.monotonic()
    with transaction.atomic():  # BEGIN IMMEDIATE: waits here while the other writer holds the lock
        site_create(code=sys.argv[1], name="writer")
        print("locked", round(time.monotonic() - asked, 3), flush=True)
        time.sleep(float(sys.argv[2]))  # hold the write lock
    print(connection.cursor().execute("PRAGMA journal_mode").fetchone()[0], flush=True)
    """
)


def test_sqlite_url_gives_wal_immediate_transactions_and_busy_timeout(tmp_path):
    config = database_config(f"sqlite:///{tmp_path}/r.sqlite3")
    assert config["NAME"] == f"{tmp_path}/r.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url_selects_postgres_with_a_private_test_database():
    config = database_config("postgresql://postgres@127.0.0.1:5432/test")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["HOST"], config["PORT"]) == ("test", "127.0.0.1", 5432)
    assert config["TEST"]["NAME"].startswith("test_vertebro_")


def test_two_sqlite_writers_wait_for_each_other_instead_of_failing(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/r.sqlite3"}
    subprocess.run([sys.executable, "-m", "vertebro.cli", "init"], env=env, check=True, capture_output=True)
    first = subprocess.Popen([sys.executable, "-c", WRITER, "FIRST", "4"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert first.stdout.readline().startswith("locked")  # the first writer holds the lock now
    second = subprocess.run([sys.executable, "-c", WRITER, "SECOND", "0"], env=env, capture_output=True, text=True)
    first_out, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    assert "wal" in first_out and "wal" in second.stdout
    waited = float(second.stdout.split()[1])
    assert waited > 0.5, second.stdout  # it waited for the lock rather than failing at once

    import sqlite3

    codes = [row[0] for row in sqlite3.connect(tmp_path / "r.sqlite3").execute("SELECT code FROM registry_site ORDER BY code")]
    assert codes == ["FIRST", "SECOND"]
