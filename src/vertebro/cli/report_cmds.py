"""`vertebro report`: the self-contained HTML report of the study's answer."""

from __future__ import annotations

from pathlib import Path

import typer

from ..domain.timepoints import FOLLOW_UP_CODES
from ..errors import VertebroError
from .app import app, console
from .flat_source import INSTRUMENTS_HELP, SOURCE_HELP, analyse_flat_source, check_primary, parse_sources, spinner


_HELP = (
    "Write one self-contained HTML report (figures embedded, prints well) and print its path.\n\n"
    "It holds Table 1 by etiology, mean pain by timepoint with 95% CIs, the distribution of improvement, "
    "responder rates, Kaplan–Meier curves of recurrent pain, a forest plot of the between-group differences "
    "(raw, ANCOVA, mixed model), follow-up completeness, the power calculation in words, the methods and "
    "every warning of the analysis.\n\n"
    "Data come from the registry unless --csv names a flat-format file."
)


@app.command(help=_HELP)
def report(
    out: Path = typer.Option(
        ..., "--out", help="Folder to write report.html into (created if missing).", show_default=False
    ),
    csv: Path | None = typer.Option(
        None,
        "--csv",
        help="Analyse this flat-format CSV file instead of the registry "
        "(columns patient_id, sex, age, etiology, timepoint, vps; days and recurrent_pain for recurrence).",
        show_default=False,
    ),
    instruments: Path | None = typer.Option(None, "--instruments", help=INSTRUMENTS_HELP, show_default=False),
    source_filter: str | None = typer.Option(None, "--source", help=SOURCE_HELP, show_default=False),
    primary: str = typer.Option(
        "post", "--primary", help=f"Primary timepoint for the headline and power: {', '.join(FOLLOW_UP_CODES)}."
    ),
) -> None:
    """Analyse, render and write DIR/report.html."""
    check_primary(primary)
    sources = parse_sources(source_filter)
    _check_out_folder(out)
    with spinner() as say:
        source, analysis = analyse_flat_source(csv, primary=primary, say=say, instruments=instruments, sources=sources)
        say("Drawing the figures and writing the report")
        from ..report import render_report, write_report

        html = render_report(
            source.frame, analysis, primary=primary, source=source.name, notice=source.notice, instruments=source.instruments
        )
        path = write_report(html, out)
    console.print(str(path.resolve()), highlight=False, soft_wrap=True)


def _check_out_folder(out: Path) -> None:
    """Refuse an --out that is a file before the (slow) analysis runs; writing checks the rest."""
    if out.exists() and not out.is_dir():
        raise VertebroError(f"{out} is a file, not a folder; give --out a folder to hold report.html.")

