"""The PostgreSQL deployment of `vertebro db roles`: the web app and the command line connect as a
role that owns nothing, and that role cannot erase the audit trail by any statement — TRUNCATE,
DELETE, UPDATE, DROP TRIGGER, DISABLE TRIGGER — while it imports and exports as usual. Real roles in
a database of its own (roles are cluster-wide: unique names, dropped afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest


pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

AUDIT_STATEMENTS = {
    "TRUNCATE history": "TRUNCATE registry_historicalpatient",
    "TRUNCATE imports": "TRUNCATE registry_importbatch",
    "TRUNCATE exports": "TRUNCATE registry_exportlog",
    "DELETE history": "DELETE FROM registry_historicalsite",
    "DELETE imports": "DELETE FROM registry_importbatch",
    "DELETE exports": "DELETE FROM registry_exportlog",
    "UPDATE history": "UPDATE registry_historicalsite SET name = 'rewritten'",
    "UPDATE imports": "UPDATE registry_importbatch SET rows_created = 0",
    "UPDATE exports": "UPDATE registry_exportlog SET rows = 0",
    "DROP TRIGGER": "DROP TRIGGER registry_historicalsite_append_only ON registry_historicalsite",
    "DISABLE TRIGGER": "ALTER TABLE registry_historicalsite DISABLE TRIGGER registry_historicalsite_append_only",
    "DISABLE TRIGGER ALL": "ALTER TABLE registry_importbatch DISABLE TRIGGER ALL",
    "replace trigger function": "CREATE OR REPLACE FUNCTION vertebro_history_append_only() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql",
    "DROP TABLE": "DROP TABLE registry_exportlog",
    "replica mode": "SET session_replication_role = replica",
}


def _vertebro(url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url, COLUMNS="400")
    return subprocess.run([sys.executable, "-m", "vertebro.cli", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def deployment(tmp_path):
    """A registry database set up by `vertebro db roles`; yields the (superuser, owner, app) URLs and the
    (owner, app) role names."""
    import psycopg

    server = os.environ["DATABASE_URL"]
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    name, owner, app = f"vertebro_roles_{suffix}", f"vertebro_owner_{suffix}", f"vertebro_app_{suffix}"
    base = server.rsplit("/", 1)[0]
    host = base.split("@", 1)[1]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    urls = (f"{base}/{name}", f"postgresql://{owner}@{host}/{name}", f"postgresql://{app}@{host}/{name}")
    try:
        assert _vertebro(urls[0], "init").returncode == 0
        done = _vertebro(urls[0], "db", "roles", "--owner", owner, "--app", app)
        assert done.returncode == 0, done.stdout + done.stderr
        yield urls, (owner, app)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (app, owner):
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_app_role_cannot_erase_the_audit_trail_but_works(deployment, tmp_path):  # one database: `init` is slow
    import psycopg

    from vertebro.synth import write_cohort

    (superuser, owner, app), roles = deployment
    # The app role does the registry's work: a site, an import, an export, all recorded.
    assert _vertebro(app, "site", "add", "SITE-A", "Site A").returncode == 0
    cohort = tmp_path / "cohort.csv"
    write_cohort(cohort, 30, 3)
    imported = _vertebro(app, "import", str(cohort))
    assert imported.returncode == 0, imported.stderr
    exported = _vertebro(app, "export", "--format", "csv", "--out", str(tmp_path / "out.csv"))
    assert exported.returncode == 0, exported.stderr

    refused = {}
    for what, statement in AUDIT_STATEMENTS.items():
        with psycopg.connect(app, autocommit=True) as connection:
            try:
                connection.execute(statement)
                refused[what] = None
            except psycopg.Error as exc:
                refused[what] = str(exc).splitlines()[0]
    assert all(refused.values()), {what: why for what, why in refused.items() if why is None}
    # UPDATE of an import record is a privilege the app has (it completes imports): the trigger refuses it.
    assert "append-only" in refused["UPDATE imports"]
    assert "owner" in refused["DROP TRIGGER"] and "owner" in refused["DISABLE TRIGGER"]

    with psycopg.connect(superuser) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM registry_historicalsite), (SELECT count(*) FROM registry_importbatch WHERE status = 'committed'), "
            "(SELECT count(*) FROM registry_exportlog), (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'registry_%' AND tgenabled = 'A')"
        ).fetchone()
    assert counts[:3] == (1, 1, 1) and counts[3] >= 24

    check = _vertebro(app, "db", "check")
    assert check.returncode == 0 and "The registry is consistent" in check.stdout, check.stdout + check.stderr
    assert "which owns no table, schema or database and is no superuser" in check.stdout


    # As the owner, `db check` warns (the registry is whole; the deployment would be weaker); the owner migrates.
    check = _vertebro(owner, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "owner of" in check.stdout and "it can drop or disable the audit triggers" in check.stdout
    assert _vertebro(owner, "init").returncode == 0

    # Setting roles up takes a superuser; a database administrator can have the script instead.
    refused = _vertebro(app, "db", "roles", "--owner", roles[0], "--app", roles[1])
    assert refused.returncode == 1 and "superuser" in refused.stderr
    script = _vertebro(app, "db", "roles", "--owner", roles[0], "--app", roles[1], "--sql")
    assert script.returncode == 0 and script.stdout.startswith("-- vertebro database roles")
    assert f'GRANT SELECT, INSERT ON TABLE "registry_historicalpatient" TO "{roles[1]}"' in script.stdout
