"""The `vertebro` command. Thin: parse, call a service, selector or stats function, render."""

from __future__ import annotations

import sys
import traceback

from ..domain.errors import DomainError
from ..errors import VertebroError
from .app import app, err_console, state

# Command modules register themselves on `app` when imported.
from . import registry_cmds  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn known failures into one sentence and a non-zero exit."""
    try:
        exit_code = app(args=argv, standalone_mode=False)
    except SystemExit:
        raise
    except (VertebroError, DomainError) as exc:
        if state["debug"]:
            traceback.print_exc()
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a traceback unless asked
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if state["debug"]:
            traceback.print_exc()
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            highlight=False,
        )
        sys.exit(2)
    # With standalone_mode=False click returns typer.Exit codes instead of exiting.
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)
