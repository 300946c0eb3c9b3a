"""`vertebro synth`: write a seed-calibrated synthetic cohort in the flat format."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import VertebroError
from .app import app, console, err_console

#: Cohorts at least this large show a progress bar (smaller ones finish in well under a second).
_PROGRESS_FROM = 50_000

_HELP = (
    "Write a synthetic cohort calibrated on the seed study as a flat-format CSV file.\n\n"
    "One row per pain assessment: patient_id, site, sex, age, etiology, procedure_date, timepoint, days, vps, "
    "venue, recurrent_pain, then assessed_on, levels, cement_ml.\n\n"
    "With the default --patients 300 and any --seed it reproduces the abstract's figures exactly: 217 women "
    "and 83 men, mean age 72 (range 22–95), 270 osteoporotic and 30 pathologic fractures; every post-procedure "
    "score is below baseline and the osteoporotic group improves more at every timepoint (a trend, not a "
    "significant difference). Other sizes scale the counts proportionally. Everything the abstract does not "
    "give is a documented assumption (vertebro.synth.CohortParameters).\n\n"
    "With --instruments-out (and --instrument-scores-out) the patients also answer the RDQ-24, ODI 2.1a, EQ-5D-5L "
    "and an analgesic record at their visits, item by item, following their pain (vertebro.synth.InstrumentModel); "
    "the pain file is the same with or without them.\n\n"
    "The same seed always gives the same files, byte for byte. Memory use does not grow with --patients."
)


@app.command(help=_HELP)
def synth(
    out: Path = typer.Option(
        ..., "--out", "-o", help="CSV file to write (replaced if it exists; its folder must exist).", show_default=False
    ),
    patients: int = typer.Option(300, "--patients", "-n", help="Number of patients, at least 1."),
    seed: int = typer.Option(2012, "--seed", help="Random seed, 0 or more; the same seed gives the same file."),
    sites: int = typer.Option(1, "--sites", help="Number of sites (SITE-A, SITE-B, …), 1–26; patients spread evenly."),
    instruments_out: Path | None = typer.Option(
        None, "--instruments-out",
        help="Also write the patients' RDQ, ODI, EQ-5D-5L and analgesic answers, item by item, to this CSV file "
        "(patient_id, instrument, timepoint, days, instance, item, answer); `vertebro analyze --instruments` reads it.",
        show_default=False,
    ),
    instrument_scores_out: Path | None = typer.Option(
        None, "--instrument-scores-out",
        help="Also write the instruments' scores (patient_id, instrument, measure, timepoint, days, score) to this CSV file.",
        show_default=False,
    ),
) -> None:
    """Generate the cohort and print what the file holds."""
    from ..synth import CohortParameters, site_codes, write_cohort

    if patients < 1:
        raise VertebroError(f"--patients {patients} is not allowed; a cohort needs at least 1 patient.")
    if seed < 0:
        raise VertebroError(f"--seed {seed} is not allowed; give a whole number, 0 or more.")
    if not 1 <= sites <= 26:
        raise VertebroError(f"--sites {sites} is not allowed; give a number of sites from 1 to 26.")
    for target in (out, instruments_out, instrument_scores_out):
        if target is not None:
            _check_writable(target)
    extra = {"instruments_out": instruments_out, "instrument_scores_out": instrument_scores_out}
    params = CohortParameters(sites=site_codes(sites))
    try:
        if patients >= _PROGRESS_FROM:
            with Progress(
                TextColumn("Writing patients"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            ) as progress:
                task = progress.add_task("synth", total=patients)
                summary = write_cohort(
                    out, patients, seed, params, on_progress=lambda done: progress.update(task, completed=done), **extra
                )
        else:
            summary = write_cohort(out, patients, seed, params, **extra)
    except OSError as exc:
        raise VertebroError(f"cannot write {out} ({exc.strerror or exc}); choose another --out file.") from exc

    table = Table(title=f"Synthetic cohort (seed {summary.seed})", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("File", str(summary.path))
    table.add_row("Patients", f"{summary.patients:,}")
    table.add_row("Rows (pain assessments)", f"{summary.rows:,}")
    table.add_row("Women / men", f"{summary.women:,} / {summary.men:,}")
    table.add_row("Osteoporotic / pathologic", f"{summary.osteoporotic:,} / {summary.pathologic:,}")
    table.add_row("Age, mean (range)", f"{summary.age_mean:.1f} ({summary.age_min}–{summary.age_max})")
    table.add_row("Size", f"{summary.bytes / 1e6:,.1f} MB")
    for label, target in (("Instrument answers", instruments_out), ("Instrument scores", instrument_scores_out)):
        if target is not None:
            table.add_row(label, str(target))
    console.print(table)


def _check_writable(out: Path) -> None:
    """Refuse an --out that cannot be a file before any work is done."""
    if out.is_dir():
        raise VertebroError(f"{out} is a folder; give --out a file name such as {out / 'cohort.csv'}.")
    folder = out.parent
    if folder.exists() and not folder.is_dir():
        raise VertebroError(f"{folder} is a file, not a folder; choose another --out file.")
    if not folder.is_dir():
        raise VertebroError(f"the folder {folder} does not exist; create it or choose another --out file.")
