"""The web app served for browser tests: `vertebro serve` (gunicorn) on a file SQLite registry.

A real server process, not Django's live_server, whose transactional flush would try to DELETE the
append-only history rows. Without /usr/bin/chromium (or ``VERTEBRO_CHROMIUM``) browser tests are
skipped loudly; with VERTEBRO_REQUIRE_BROWSER=1 (as in .ci/run) a missing Chromium fails them instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("VERTEBRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "browser-test-pass-42"
HERE = Path(__file__).resolve().parent


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: the browser tests did not run (apt-get install chromium)"
        if os.environ.get("VERTEBRO_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; VERTEBRO_REQUIRE_BROWSER=1 makes them required")
        pytest.skip("SKIPPED LOUDLY — " + message)


def vertebro(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from vertebro.cli import main; main()", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, f"vertebro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def registry_env(home: Path, **extra: str) -> dict:
    """The environment of a registry under ``home`` (no VERTEBRO_ setting of the caller leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERTEBRO_", "DATABASE_URL"))}
    return env | {"DATABASE_URL": f"sqlite:///{home / 'registry.sqlite3'}", "VERTEBRO_HOME": str(home), "COLUMNS": "200"} | extra


def seed(env: dict, function: str) -> None:
    """Run ``browser_seed.<function>()`` against the registry of ``env`` (services, not the browser)."""
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import browser_seed; browser_seed.{function}()"
    vertebro(env, "manage", "shell", "-c", code)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(home: Path, env: dict) -> Iterator[dict]:
    """`vertebro serve` on the registry of ``env``; yields ``base`` (URL), ``log`` (path) and ``home``."""
    port = _free_port()
    log_path = home / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from vertebro.cli import main; main()", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"vertebro serve did not start:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        yield {"base": base, "log": log_path, "home": home}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
