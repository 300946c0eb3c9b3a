"""The `vertebro` command. Thin: parse, call a service, selector or stats function, render."""

from __future__ import annotations

import sys
import traceback

from ..domain.errors import DomainError
from ..errors import VertebroError
from .app import app, err_console, state

# Command modules register themselves on `app` when imported.
from . import demo_cmds  # noqa: E402,F401
from . import registry_cmds  # noqa: E402,F401
from . import report_cmds  # noqa: E402,F401
from . import synth_cmds  # noqa: E402,F401
from . import interop_cmds  # noqa: E402,F401
from . import analysis_cmds  # noqa: E402,F401
from . import web_cmds  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn known failures into one sentence and a non-zero exit.

    Typer's standalone mode handles usage errors (exit 2) and ``typer.Exit``; everything else that
    escapes a command is caught here, so a person never sees a traceback unless they ask (--debug).
    """
    try:
        app(args=argv)
    except (VertebroError, DomainError) as exc:
        _fail(str(exc), getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # the last line of defence
        if type(exc).__name__ == "ValidationError" and hasattr(exc, "messages"):  # Django's, without importing it
            _fail("; ".join(exc.messages), 1)
        _fail(f"{type(exc).__name__}: {exc} (run again with --debug for the traceback)", 2)


def _fail(message: str, exit_code: int) -> None:
    if state["debug"]:
        traceback.print_exc()
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(exit_code)
