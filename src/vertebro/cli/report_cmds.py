"""`vertebro report`: the self-contained HTML report of the study's answer."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..domain.timepoints import FOLLOW_UP_CODES
from ..errors import VertebroError
from .app import app, console, err_console


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
    primary: str = typer.Option(
        "post", "--primary", help=f"Primary timepoint for the headline and power: {', '.join(FOLLOW_UP_CODES)}."
    ),
) -> None:
    """Analyse, render and write DIR/report.html."""
    if primary not in FOLLOW_UP_CODES:
        raise VertebroError(
            f"--primary {primary!r} is not a follow-up timepoint; use one of {', '.join(FOLLOW_UP_CODES)}."
        )
    _check_out_folder(out)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("Loading the data", total=None)
        df, source = _load(csv)
        progress.update(task, description=f"Analysing {df['patient_id'].nunique():,} patients")
        from ..stats.analysis import analyze

        analysis = analyze(df, primary=primary)
        progress.update(task, description="Drawing the figures and writing the report")
        from ..report import render_report, write_report

        path = write_report(render_report(df, analysis, primary=primary, source=source), out)
    console.print(str(path.resolve()), highlight=False, soft_wrap=True)


def _check_out_folder(out: Path) -> None:
    """Refuse an --out that is a file before the (slow) analysis runs; writing checks the rest."""
    if out.exists() and not out.is_dir():
        raise VertebroError(f"{out} is a file, not a folder; give --out a folder to hold report.html.")


def _load(csv: Path | None):  # noqa: ANN202 - (DataFrame, str); pandas is imported lazily
    if csv is not None:
        if not csv.is_file():
            raise VertebroError(f"{csv} does not exist or is not a file; give --csv a flat-format CSV file.")
        from ..stats.validate import load_flat_csv

        return load_flat_csv(csv), csv.name
    from ..registry.selectors.flat import flat_assessments_df
    from .registry_cmds import open_registry

    where = open_registry()
    df = flat_assessments_df()
    if df.empty:
        raise VertebroError(
            f"the registry ({where}) holds no pain assessments; add patients first or pass --csv FILE."
        )
    return df, f"the registry ({where})"
