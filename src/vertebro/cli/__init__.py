"""The `vertebro` command. Thin: parse, call a service, selector or stats function, render."""

from __future__ import annotations

import inspect
import sys
import traceback

from ..domain.errors import DomainError
from ..errors import VertebroError
from .app import app, err_console, state

# Command modules register themselves on `app` when imported; the order is the order of `--help`.
from . import demo_cmds  # noqa: E402,F401
from . import registry_cmds  # noqa: E402,F401
from . import synth_cmds  # noqa: E402,F401
from . import interop_cmds  # noqa: E402,F401
from . import analysis_cmds  # noqa: E402,F401
from . import report_cmds  # noqa: E402,F401
from . import web_cmds  # noqa: E402,F401
from . import api_cmds  # noqa: E402,F401
from . import invitation_cmds  # noqa: E402,F401

HELP_PANELS = {
    "demo": "Start here",
    "init": "Registry",
    "db": "Registry",
    "manage": "Registry",
    "synth": "Data in and out",
    "import": "Data in and out",
    "export": "Data in and out",
    "redcap": "Data in and out",
    "analyze": "The study's answer",
    "report": "The study's answer",
    "serve": "Web app",
    "user": "Web app",
    "site": "Web app",
    "invitations": "Patient-reported follow-up",
}


def _group_help_into_panels() -> None:
    panels = list(dict.fromkeys(HELP_PANELS.values()))
    for infos in (app.registered_commands, app.registered_groups):
        for info in infos:
            name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
            info.rich_help_panel = HELP_PANELS.get(name, "Other")
        infos.sort(key=lambda info: panels.index(info.rich_help_panel) if info.rich_help_panel in panels else len(panels))


def reflow(text: str) -> str:
    """A docstring as paragraphs: the line breaks of the source go (Rich keeps them, which makes ragged
    help on a narrow terminal); blank lines, and lines that start a list item, stay."""
    paragraphs = []
    for block in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in block.splitlines():
            if lines and not line.lstrip().startswith(("- ", "* ", "• ")):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _reflow_help(typer_app) -> None:  # noqa: ANN001
    for info in typer_app.registered_commands:
        text = info.help or (info.callback.__doc__ if info.callback else None)
        if text:
            info.help = reflow(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_group_help_into_panels()
_reflow_help(app)


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
