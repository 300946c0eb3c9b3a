"""Shared test setup.

`make test` runs the suite twice: once on SQLite (everything), then the tests marked ``database``
again on PostgreSQL (``VERTEBRO_TEST_POSTGRES=1``). Any test that uses the database fixtures is marked
``database`` here automatically. When PostgreSQL cannot be reached, that second pass is skipped loudly
— or fails, when ``VERTEBRO_REQUIRE_POSTGRES=1`` (as in CI).
"""

from __future__ import annotations

import os

import pytest

DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}
POSTGRES_PASS = os.environ.get("VERTEBRO_TEST_POSTGRES") == "1"
REQUIRE_POSTGRES = os.environ.get("VERTEBRO_REQUIRE_POSTGRES") == "1"
_postgres_problem: str | None = None


def _postgres_unreachable_reason() -> str | None:
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "not reachable" here
        return f"PostgreSQL at {url or '(no DATABASE_URL)'} is not reachable: {exc}".strip()


def pytest_configure(config: pytest.Config) -> None:
    global _postgres_problem
    if POSTGRES_PASS:
        _postgres_problem = _postgres_unreachable_reason()
        if _postgres_problem and REQUIRE_POSTGRES:
            raise pytest.UsageError(
                f"{_postgres_problem}. VERTEBRO_REQUIRE_POSTGRES=1 makes the PostgreSQL tests required: "
                "start PostgreSQL (pg_ctlcluster ... start) or unset the variable."
            )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.database)
    if POSTGRES_PASS and _postgres_problem:
        skip = pytest.mark.skip(reason=f"SKIPPED ON POSTGRESQL — {_postgres_problem}")
        for item in items:
            item.add_marker(skip)
    if not POSTGRES_PASS:
        skip_pg = pytest.mark.skip(reason="meaningful only on PostgreSQL; runs in the PostgreSQL pass")
        for item in items:
            if item.get_closest_marker("postgres_only"):
                item.add_marker(skip_pg)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if POSTGRES_PASS and _postgres_problem:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            "THE DATABASE TESTS DID NOT RUN ON POSTGRESQL: " + _postgres_problem, red=True, bold=True
        )
        terminalreporter.write_line(
            "Start PostgreSQL, or set VERTEBRO_REQUIRE_POSTGRES=1 to turn this into a failure.", red=True
        )
        terminalreporter.write_line(bar, red=True, bold=True)


@pytest.fixture
def run_cli(capsys):
    """Run the `vertebro` CLI in-process: ``run_cli("analyze", "--json")`` returns (exit code, stdout, stderr)."""
    from vertebro.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    return run
