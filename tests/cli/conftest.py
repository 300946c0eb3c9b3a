import os
import subprocess
import sys

import pytest


@pytest.fixture
def run_vertebro(tmp_path):
    """Run the real `vertebro` command in a subprocess against a file registry in tmp_path."""

    def run(*args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
        environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.sqlite3'}", "VERTEBRO_HOME": str(tmp_path),
                       "COLUMNS": "200", **(env or {})}
        result = subprocess.run(
            [sys.executable, "-c", "from vertebro.cli import main; main()", *args],
            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"vertebro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    return run
