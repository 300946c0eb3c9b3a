"""`vertebro invitations send` as real processes against a real SMTP server: two runs at once send
each message once; a run killed with SIGKILL mid-way, then run again, sends the rest once. On a file
SQLite registry and on PostgreSQL (real commits: the test database fixtures cannot do this)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from .conftest import Inbox, free_port

SEED = Path(__file__).with_name("seed_due.py")
PATIENTS = 120


class SlowInbox(Inbox):
    """Takes a moment per message, so that a run is surely killed half-way."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        import asyncio

        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def _env(url: str, port: int, **extra: str) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=url, VERTEBRO_EMAIL_BACKEND="smtp", VERTEBRO_EMAIL_HOST="127.0.0.1",
                VERTEBRO_EMAIL_PORT=str(port), COLUMNS="200", **extra)


def _send(env: dict, background: bool = False):  # noqa: ANN202
    command = [sys.executable, "-m", "vertebro.cli", "invitations", "send"]
    if background:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    box = SlowInbox(delay=0.02)
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    yield box
    controller.stop()


def _prepare(url: str) -> None:
    init = subprocess.run([sys.executable, "-m", "vertebro.cli", "init"], env=dict(os.environ, DATABASE_URL=url), capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    seeded = subprocess.run([sys.executable, str(SEED), str(PATIENTS)], env=dict(os.environ, DATABASE_URL=url), capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr


def _per_recipient(inbox: Inbox) -> Counter:
    return Counter(address for to, _ in inbox.messages for address in to)


def _message_statuses(url: str) -> Counter:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            return Counter(dict(connection.execute("SELECT status, count(*) FROM registry_invitationmessage GROUP BY status").fetchall()))
    import psycopg

    with psycopg.connect(url) as connection:
        return Counter(dict(connection.execute("SELECT status, count(*) FROM registry_invitationmessage GROUP BY status").fetchall()))


def _two_runs_at_once(url: str, inbox: Inbox) -> None:
    _prepare(url)
    env = _env(url, inbox.port)
    first, second = _send(env, background=True), _send(env, background=True)
    for process in (first, second):
        assert process.wait(timeout=300) == 0, process.stderr.read()
    counts = _per_recipient(inbox)
    assert len(counts) == PATIENTS and set(counts.values()) == {1}, counts.most_common(3)
    assert _message_statuses(url) == Counter({"sent": PATIENTS})


def _killed_then_rerun(url: str, inbox: Inbox) -> None:
    _prepare(url)
    process = _send(_env(url, inbox.port), background=True)
    deadline = time.monotonic() + 120
    while len(inbox.messages) < 10:
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()!r}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    delivered_before = len(inbox.messages)
    assert delivered_before < PATIENTS, "the run finished before the kill"
    rerun = _send(_env(url, inbox.port, VERTEBRO_SEND_LEASE_SECONDS="0"))
    assert rerun.returncode == 0, rerun.stderr
    counts = _per_recipient(inbox)
    statuses = _message_statuses(url)
    assert set(counts.values()) == {1}, f"sent twice: {[a for a, n in counts.items() if n > 1]}"
    # At-most-once: only the one message the killed run was handing over may be uncertain (delivered or not).
    assert statuses["uncertain"] <= 1 and statuses["sending"] == statuses["queued"] == 0, statuses
    assert statuses["sent"] + statuses["uncertain"] == PATIENTS
    assert len(counts) >= PATIENTS - statuses["uncertain"]


def test_two_sqlite_runs_at_once_send_each_message_once(tmp_path, inbox):
    _two_runs_at_once(f"sqlite:///{tmp_path / 'registry.sqlite3'}", inbox)


def test_a_killed_sqlite_run_then_a_rerun_send_each_message_at_most_once(tmp_path, inbox):
    _killed_then_rerun(f"sqlite:///{tmp_path / 'registry.sqlite3'}", inbox)


@pytest.fixture
def postgres_url():
    import psycopg

    server = os.environ["DATABASE_URL"]
    name = f"vertebro_send_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.database
@pytest.mark.postgres_only
def test_two_postgres_runs_at_once_send_each_message_once(postgres_url, inbox):
    _two_runs_at_once(postgres_url, inbox)


@pytest.mark.database
@pytest.mark.postgres_only
def test_a_killed_postgres_run_then_a_rerun_send_each_message_at_most_once(postgres_url, inbox):
    _killed_then_rerun(postgres_url, inbox)
