"""schemathesis against `vertebro serve` from the committed openapi.yaml: no 5xx, every response conforms
to the schema. Bounded by VERTEBRO_FUZZ_EXAMPLES examples per operation (default 25); the number of
cases run is printed. A real server process (see served_app): schemathesis needs HTTP, and the web
app's append-only history forbids live_server's flush."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from served_app import registry_env, seed, served, vertebro

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES = int(os.environ.get("VERTEBRO_FUZZ_EXAMPLES", "25"))


def _token(env: dict, username: str) -> str:
    out = vertebro(env, "user", "token", "create", username, "--label", "fuzz")
    return out.strip().splitlines()[-1].strip()


@pytest.mark.parametrize("username", ["coord_a", "analyst_a"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path, username, capsys):
    env = registry_env(tmp_path, VERTEBRO_API_FAILURE_LIMIT="100000")
    vertebro(env, "init")
    seed(env, "every_page")
    token = _token(env, username)
    with served(tmp_path, env) as app:
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(SCHEMA), "--url", app["base"],
             "-H", f"Authorization: Bearer {token}", "-n", str(EXAMPLES), "--seed", "11", "--workers", "1",
             "-c", "not_a_server_error,response_schema_conformance,content_type_conformance",
             "--phases", "examples,coverage,fuzzing"],
            capture_output=True, text=True, timeout=900, env=env | {"NO_COLOR": "1"},
        )
        server_log = Path(app["log"]).read_text()
    output = result.stdout + result.stderr
    cases = re.search(r"Test cases:\s*\n?\s*(\d+) generated", output) or re.search(r"(\d+) generated", output)
    with capsys.disabled():
        print(f"\nschemathesis as {username}: {cases.group(1) if cases else '?'} test cases generated, exit {result.returncode}")
    assert result.returncode == 0, output[-6000:] + "\n--- server log ---\n" + server_log[-3000:]
    assert cases is not None and int(cases.group(1)) > 0, output[-3000:]
