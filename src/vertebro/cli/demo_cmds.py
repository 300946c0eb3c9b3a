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
    "5. adds three recently treated patients who agreed to be contacted by email; 6. prints what the registry "
    "holds; 7. analyses it and prints the headline table; 8. writes the HTML report to OUT/report/report.html; "
    "9. sends the due survey invitations into var/mail/ (never through a mail server) and prints a link to "
    "open, after `vertebro serve`, to answer as a patient.\n\n"
    "The cohort's outcome instruments (RDQ, ODI, EQ-5D-5L, analgesics) are written item by item to "
    "OUT/instruments.csv, stored in the registry with their scores, and analysed from the registry.\n\n"
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

    from ..synth import DEFAULT_SEED, SYNTHETIC_NOTICE, CohortParameters, site_codes, write_cohort

    cohort_file = out / "cohort.csv"
    # Two sites, so that the web app's site boundaries show; the published figures do not depend on it.
    params = CohortParameters(sites=site_codes(2))
    candidate = out / "cohort.csv.new"  # the cohort in place is replaced only once this one may go in
    # The cohort's synthetic instrument answers, item by item; stored in the registry after the cohort.
    instruments_file = out / "instruments.csv"
    summary = write_cohort(
        candidate, seed=DEFAULT_SEED if seed is None else seed, params=params, instruments_out=instruments_file
    )
    try:
        _refuse_foreign_patients(candidate, where)
    except VertebroError:
        candidate.unlink(missing_ok=True)
        raise
    candidate.replace(cohort_file)
    (out / "cohort.csv.errors.csv").unlink(missing_ok=True)  # a report of an earlier run, not of this one
    _synthetic_sites(params.sites)

    from ..interop.importer import import_flat_file

    with console.status("Importing the demo cohort with full validation"):
        outcome = import_flat_file(path=cohort_file)
    counts = outcome.counts
    console.print(
        f"[green]Demo cohort[/] {cohort_file}: {summary.patients} patients; import #{outcome.batch.pk} "
        f"created {counts.rows_created:,}, updated {counts.rows_updated:,}, unchanged {counts.rows_unchanged:,} rows.",
        highlight=False,
    )
    _store_instruments(instruments_file)
    _demo_accounts()
    from .demo_invitations import recently_treated_patients, send_and_show_a_link

    recently_treated_patients()
    console.print(f"[bold yellow]{SYNTHETIC_NOTICE}[/]", highlight=False)
    console.print(_registry_table(where))

    from ..registry.selectors.flat import flat_assessments_df
    from ..registry.selectors.instrument_scores import instrument_score_frame
    from ..stats.analysis import analyze

    df = flat_assessments_df()
    with console.status("Analysing"):
        scores = instrument_score_frame()
        analysis = analyze(df, primary=primary, instruments=scores)
    from .analysis_cmds import comparison_table, power_sentence

    console.print(comparison_table(analysis["timepoints"]))
    console.print(power_sentence(analysis["power"]), highlight=False)

    from ..report import render_report, write_report

    with console.status("Writing the report"):
        report = render_report(
            df, analysis, primary=primary, source=f"the demo registry ({where})", notice=SYNTHETIC_NOTICE, instruments=scores
        )
        path = write_report(report, out / "report")
    console.print(f"[bold]Report:[/] {path.resolve()}", highlight=False, soft_wrap=True)
    send_and_show_a_link()


def _store_instruments(path: Path) -> None:
    """Store the cohort's instrument answers (scored by the definitions on write); again, nothing changes."""
    from ..registry.services.instrument_import import instrument_answers_store
    from ..stats.validate import read_csv_as_text

    frame = read_csv_as_text(path, kind="an instrument answer file", rows="one line per answer")
    with console.status("Storing the cohort's instrument answers (RDQ, ODI, EQ-5D-5L, analgesics)"):
        counts = instrument_answers_store(frame=frame, source_name=str(path), source="import")
    console.print(
        f"[green]Instruments[/] {path}: created {counts.created:,}, updated {counts.updated:,}, "
        f"unchanged {counts.unchanged:,} responses.",
        highlight=False,
    )


def _synthetic_sites(codes) -> None:  # noqa: ANN001
    """The demo's sites, named so that reports and analyses of the registry say their data are synthetic."""
    from ..registry.models import Site
    from ..registry.services.clinical import site_create, site_rename
    from ..synth import SYNTHETIC_SITE_PREFIX

    for code in codes:
        name = f"{SYNTHETIC_SITE_PREFIX} {code}"
        site = Site.objects.filter(code=code).first()
        if site is None:
            site_create(code=code, name=name)
        elif site.name == code:  # a demo registry made before its sites were named so
            site_rename(site=site, name=name)


def _refuse_foreign_patients(cohort_file: Path, where: str) -> None:
    """The demo goes into an empty registry or a demo registry: one whose imported patients are this
    cohort's (patients entered in the web app while trying it out are fine)."""
    import pandas as pd

    from ..interop.tabular import file_sha256
    from ..registry.models import ImportBatch, Patient

    patients = Patient.objects.count()
    if not patients:
        return
    demo_imports = ImportBatch.objects.filter(status="committed", file_name__endswith=f"{cohort_file.parent.name}/cohort.csv")
    own_registry = "run the demo on its own registry, e.g. DATABASE_URL=sqlite:///var/demo.sqlite3 vertebro demo"
    if not demo_imports.exists():
        raise VertebroError(f"the registry {where} holds {patients} patients and no demo cohort; {own_registry}")
    demo_ids = pd.read_csv(cohort_file, usecols=["patient_id"], dtype=str)["patient_id"].unique().tolist()
    others = Patient.objects.exclude(study_id__in=demo_ids).exclude(import_batch__isnull=True).count()
    if others:
        raise VertebroError(f"the registry {where} holds {others} imported patients that are not in the demo cohort; {own_registry}")
    if not demo_imports.filter(file_sha256=file_sha256(cohort_file)).exists():
        raise VertebroError(
            f"the registry {where} holds a demo cohort of another seed; a different seed needs its own registry, "
            "e.g. DATABASE_URL=sqlite:///var/demo-7.sqlite3 vertebro demo --seed 7"
        )


def _demo_accounts() -> None:
    from ..registry.models import Site
    from ..registry.services.accounts import demo_accounts_create

    accounts, state = demo_accounts_create(sites=list(Site.objects.order_by("code")[:2]))
    names = ", ".join(account.username for account in accounts)
    if state == "generated":
        err_console.print(
            f"[bold]Demo accounts[/] ({names}) share the password [bold]{accounts[0].password}[/] — shown once; "
            "set VERTEBRO_DEMO_PASSWORD to choose it. Start the web app with `vertebro serve`.",
            highlight=False,
        )
    elif state == "kept":
        console.print(
            f"[bold]Demo accounts[/] ({names}) exist already and keep their passwords; to reset them all, run "
            "`vertebro demo` again with VERTEBRO_DEMO_PASSWORD set.",
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
