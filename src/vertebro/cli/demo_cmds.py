"""`vertebro demo`: the seed study end to end on a fresh registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..errors import VertebroError
from .app import app, console, err_console
from .registry_cmds import open_registry

_HELP = (
    "Build the demo registry and show the study's answer, end to end.\n\n"
    "1. creates or migrates the registry (embedded SQLite at var/vertebro.sqlite3 unless DATABASE_URL says "
    "otherwise); 2. writes the seed-calibrated synthetic cohort (300 patients, as the ASSR 2012 abstract) to "
    "OUT/cohort.csv; 3. imports it with full validation; 4. creates demo accounts for the web app; "
    "5. prints what the registry holds; 6. analyses it and prints the headline table; 7. writes the HTML "
    "report to OUT/report/report.html.\n\n"
    "Idempotent: running it again leaves one cohort, not two (the import finds every row unchanged). "
    "It refuses to add the demo cohort to a registry that holds other patients."
)


@app.command(help=_HELP)
def demo(
    out: Path = typer.Option(Path("var/demo"), "--out", help="Folder for the cohort file and the report."),
    seed: int = typer.Option(None, "--seed", help="Seed of the synthetic cohort (default: the synth default).", show_default=False),
    primary: str = typer.Option("post", "--primary", help="Primary timepoint of the headline and power."),
) -> None:
    where = open_registry(migrate=True)
    out.mkdir(parents=True, exist_ok=True)

    from ..synth import DEFAULT_SEED, CohortParameters, site_codes, write_cohort

    cohort_file = out / "cohort.csv"
    # Two sites, so that the web app's site boundaries show; the published figures do not depend on it.
    params = CohortParameters(sites=site_codes(2))
    summary = write_cohort(cohort_file, seed=DEFAULT_SEED if seed is None else seed, params=params)
    _refuse_foreign_patients(cohort_file, where)

    from ..interop.importer import import_flat_file

    with console.status("Importing the demo cohort with full validation"):
        outcome = import_flat_file(path=cohort_file)
    counts = outcome.counts
    console.print(
        f"[green]Demo cohort[/] {cohort_file}: {summary.patients} patients; import #{outcome.batch.pk} "
        f"created {counts.rows_created:,}, updated {counts.rows_updated:,}, unchanged {counts.rows_unchanged:,} rows.",
        highlight=False,
    )
    _demo_accounts()
    console.print(_registry_table(where))

    from ..registry.selectors.flat import flat_assessments_df
    from ..stats.analysis import analyze

    df = flat_assessments_df()
    with console.status("Analysing"):
        analysis = analyze(df, primary=primary)
    from .analysis_cmds import comparison_table, power_sentence

    console.print(comparison_table(analysis["timepoints"]))
    console.print(power_sentence(analysis["power"]), highlight=False)

    from ..report import render_report, write_report

    with console.status("Writing the report"):
        path = write_report(render_report(df, analysis, primary=primary, source=f"the demo registry ({where})"), out / "report")
    console.print(f"[bold]Report:[/] {path.resolve()}", highlight=False, soft_wrap=True)


def _refuse_foreign_patients(cohort_file: Path, where: str) -> None:
    import pandas as pd

    from ..registry.models import Patient

    demo_ids = pd.read_csv(cohort_file, usecols=["patient_id"], dtype=str)["patient_id"].unique().tolist()
    others = Patient.objects.exclude(study_id__in=demo_ids).count()
    if others:
        raise VertebroError(
            f"the registry {where} holds {others} patients that are not in the demo cohort; run the demo on its own "
            "registry, e.g. DATABASE_URL=sqlite:///var/demo.sqlite3 vertebro demo"
        )


def _demo_accounts() -> None:
    from ..registry.models import Site
    from ..registry.services.accounts import demo_accounts_create

    accounts, generated = demo_accounts_create(sites=list(Site.objects.order_by("code")[:2]))
    names = ", ".join(account.username for account in accounts)
    if generated:
        err_console.print(
            f"[bold]Demo accounts[/] ({names}) share the password [bold]{accounts[0].password}[/] — shown once; "
            "set VERTEBRO_DEMO_PASSWORD to choose it. Start the web app with `vertebro serve`.",
            highlight=False,
        )
    else:
        console.print(f"[bold]Demo accounts[/] ({names}) use the password in VERTEBRO_DEMO_PASSWORD.", highlight=False)


def _registry_table(where: str) -> Table:
    from ..registry.selectors.summary import assessments_by_timepoint, patients_by_site_and_etiology, registry_counts

    table = Table(title=f"The registry — {where}", title_justify="left")
    table.add_column("holds")
    table.add_column("count", justify="right")
    for name, count in registry_counts().items():
        table.add_row(name, f"{count:,}")
    for (site, etiology), count in patients_by_site_and_etiology().items():
        table.add_row(f"patients at {site}, {etiology}", f"{count:,}")
    for timepoint, count in assessments_by_timepoint().items():
        table.add_row(f"pain scores at {timepoint}", f"{count:,}")
    return table
