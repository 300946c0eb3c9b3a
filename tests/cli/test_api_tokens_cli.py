"""`vertebro user token create|list|revoke` end to end: the token is printed once, works against the API,
is never listed, and stops working when revoked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys


def _cli(tmp_path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.sqlite3'}", "VERTEBRO_HOME": str(tmp_path), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from vertebro.cli import main; main()", *args],
                          input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def _api_status(tmp_path, token: str) -> int:
    code = (
        "from django.test import Client; "
        f"print(Client(HTTP_AUTHORIZATION='Bearer {token}', HTTP_HOST='127.0.0.1').get('/api/v1/patients/').status_code)"
    )
    result = _cli(tmp_path, "manage", "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def test_token_create_list_revoke(tmp_path):
    assert _cli(tmp_path, "init").returncode == 0
    assert _cli(tmp_path, "site", "add", "NIR-1", "Neuro One").returncode == 0
    assert _cli(tmp_path, "user", "add", "jdoe", "--site", "NIR-1", "--password-stdin", stdin="a-long-secret-42\n").returncode == 0

    created = _cli(tmp_path, "user", "token", "create", "jdoe", "--label", "R pull", "--days", "30")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1].strip()
    assert token.startswith("vtb_") and "not shown again" in created.stdout
    with sqlite3.connect(tmp_path / "registry.sqlite3") as db:
        stored = db.execute("select digest, prefix from registry_apitoken").fetchall()
    assert len(stored) == 1 and token not in stored[0]

    assert _api_status(tmp_path, token) == 200
    listed = _cli(tmp_path, "user", "token", "list")
    assert "jdoe" in listed.stdout and "R pull" in listed.stdout and "active" in listed.stdout and token not in listed.stdout

    assert _cli(tmp_path, "user", "token", "revoke", "1").returncode == 0
    assert "revoked" in _cli(tmp_path, "user", "token", "list", "jdoe").stdout
    assert _api_status(tmp_path, token) == 401


def test_token_create_refuses_bad_days_and_unknown_user(tmp_path):
    _cli(tmp_path, "init")
    bad_days = _cli(tmp_path, "user", "token", "create", "nobody", "--label", "x")
    assert bad_days.returncode != 0 and "no user 'nobody'" in bad_days.stderr + bad_days.stdout
    _cli(tmp_path, "site", "add", "NIR-1", "Neuro One")
    _cli(tmp_path, "user", "add", "jdoe", "--site", "NIR-1", "--password-stdin", stdin="a-long-secret-42\n")
    too_long = _cli(tmp_path, "user", "token", "create", "jdoe", "--label", "x", "--days", "400")
    assert too_long.returncode != 0 and "1 to 366 days" in too_long.stderr + too_long.stdout
    missing = _cli(tmp_path, "user", "token", "revoke", "99")
    assert missing.returncode != 0 and "no API token 99" in missing.stderr + missing.stdout
