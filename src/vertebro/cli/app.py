"""The shared Typer application and console. Command modules register on ``app``."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

app = typer.Typer(
    name="vertebro",
    help=(
        "vertebro: an outcomes registry and analysis system for vertebroplasty.\n\n"
        "The registry lives in var/vertebro.sqlite3 unless DATABASE_URL names another database "
        "(sqlite:///path or postgresql://user@host/db). Start with `vertebro demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
def _width(stream) -> int | None:  # noqa: ANN001
    """A terminal's own width; written to a file or a pipe (logs, CI), wide enough that tables are whole
    instead of Rich's 80 columns (COLUMNS still wins when set)."""
    return None if os.environ.get("COLUMNS") or stream.isatty() else 160


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, soft_wrap=True, width=_width(sys.stderr))

state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    state["debug"] = debug
