"""The shared Typer application and console. Command modules register on ``app``."""

from __future__ import annotations

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
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    state["debug"] = debug
