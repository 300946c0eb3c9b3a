"""`vertebro analyze`: the study's answer as readable tables, or as the vertebro.analysis/1 JSON contract."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from ..domain.timepoints import FOLLOW_UP_CODES
from ..domain.vocabulary import STUDY_GROUPS
from ..report import formatting as fmt
from ..stats.reviewer import DEFAULT_IMPUTATIONS, DEFAULT_SEED, ReviewerSettings
from .app import app, console
from .flat_source import INSTRUMENTS_HELP, SOURCE_HELP, analyse_flat_source, check_primary, parse_sources, spinner

_HELP = (
    "Answer the study question: is the response to vertebroplasty different between osteoporotic and "
    "pathologic fractures?\n\n"
    "Prints the cohort, pain by timepoint and group with paired tests, the osteoporotic-minus-pathologic "
    "comparisons (Welch t, Mann-Whitney, ANCOVA, responders), the mixed model over all follow-ups, time to "
    "recurrent pain (Kaplan-Meier, log-rank, Cox), the power at the primary timepoint and follow-up "
    "completeness. Improvement = baseline - follow-up score; a positive difference means the osteoporotic "
    "group improved more.\n\n"
    "For a statistical reviewer it adds multiple imputation of the missing follow-up scores with a "
    "tipping-point analysis, cluster-robust errors by site and funnel plots of the sites (--core-only "
    "leaves them out).\n\n"
    "Data come from the registry unless --csv names a flat-format file. With --json, standard output "
    "carries the vertebro.analysis/1 contract and nothing else."
)


@app.command(help=_HELP)
def analyze(
    csv: Path | None = typer.Option(
        None,
        "--csv",
        help="Analyse this flat-format CSV file instead of the registry (columns patient_id, sex, age, etiology, "
        "timepoint, vps; days and recurrent_pain for the recurrence section).",
        show_default=False,
    ),
    instruments: Path | None = typer.Option(None, "--instruments", help=INSTRUMENTS_HELP, show_default=False),
    source_filter: str | None = typer.Option(None, "--source", help=SOURCE_HELP, show_default=False),
    primary: str = typer.Option(
        "post", "--primary", help=f"Timepoint of the power calculation: {', '.join(FOLLOW_UP_CODES)}."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the vertebro.analysis/1 JSON contract on standard output, nothing else."
    ),
    imputations: int = typer.Option(
        DEFAULT_IMPUTATIONS, "--imputations", min=2, help="m, the imputations of the missing follow-up scores."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the imputations: the same file and seed give the same numbers."),
    core_only: bool = typer.Option(
        False, "--core-only", help="Leave out the missing-data sensitivity, sites and benchmarking sections (faster)."
    ),
) -> None:
    check_primary(primary)
    settings = ReviewerSettings(enabled=not core_only, imputations=imputations, seed=seed)
    sources = parse_sources(source_filter)
    with spinner() as say:
        source, result = analyse_flat_source(
            csv, primary=primary, say=say, instruments=instruments, reviewer=settings, sources=sources
        )
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
        sys.stdout.flush()
        return
    render(result, source=source.where, notice=source.notice)


def render(result: dict[str, Any], *, source: str, notice: str | None = None) -> None:
    """Print the contract as Rich tables (display rounds; the contract does not)."""
    console.print(f"[bold]vertebro analysis[/] of {source}  (schema {result['schema']})", highlight=False)
    if notice:
        console.print(f"[bold yellow]{notice}[/]", highlight=False)
    console.print(_cohort_table(result["cohort"]))
    if result["timepoints"]:
        for table in group_tables(result["timepoints"], width=console.width):
            console.print(table)
        console.print(comparison_table(result["timepoints"]))
    console.print(_mixed_table(result["mixed_model"]))
    if result["recurrence"] is not None:
        console.print(_recurrence_table(result["recurrence"]))
        console.print(_recurrence_line(result["recurrence"]), highlight=False)
    console.print(_completeness_table(result["completeness"]))
    if result.get("data_cutoff"):
        console.print(f"Expected = window closed by the data cut-off {result['data_cutoff']}, or seen.", highlight=False)
    console.print(power_sentence(result["power"]), highlight=False)
    from ..report.flow import flow_text_table

    console.print(flow_text_table(result.get("flow")), highlight=False, markup=False)
    from .instrument_tables import instrument_tables

    for table in instrument_tables(result.get("instruments") or {}):
        console.print(table)
    if result["warnings"]:
        console.print("\n[bold yellow]Warnings[/]")
        for warning in result["warnings"]:
            console.print(f"  [yellow]•[/] {warning}", highlight=False)


def number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}"


def interval(estimate: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    if estimate is None:
        return "—"
    if low is None or high is None:
        return number(estimate, digits)
    return f"{number(estimate, digits)} ({number(low, digits)}, {number(high, digits)})"


def _cohort_table(cohort: dict[str, Any]) -> Table:
    table = Table(title="Cohort", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for column in ("Patients", "Female", "Male", "Age, mean (SD)", "Age range", "Osteoporotic", "Pathologic"):
        table.add_column(column, justify="right", no_wrap=True)
    age = "—" if cohort["age_mean"] is None else f"{cohort['age_mean']:.1f} ({number(cohort['age_sd'], 1)})"
    age_range = "—" if cohort["age_min"] is None else f"{cohort['age_min']}–{cohort['age_max']}"
    table.add_row(
        number(cohort["patients"]), number(cohort["female"]), number(cohort["male"]), age, age_range,
        number(cohort["osteoporotic"]), number(cohort["pathologic"]),
    )  # fmt: skip
    return table


_SCORE_COLUMNS = ("n", "Baseline", "Follow-up", "Improvement\n(95% CI)", "SD")
_TEST_COLUMNS = ("Paired t\np", "Wilcoxon\np", "≥30%\nresp.", "≥50%\nresp.")
#: Narrower than this, the scores and the tests go in two tables: no cell is ever cut short.
ONE_TABLE_WIDTH = 104


def group_tables(timepoints: list[dict[str, Any]], *, width: int) -> list[Table]:
    """Pain by timepoint and group: one table on a wide console, the scores then the tests on a narrow one."""
    title = "Pain by timepoint and group (improvement = baseline − follow-up)"
    if width >= ONE_TABLE_WIDTH:
        return [_group_table(timepoints, title, _SCORE_COLUMNS + _TEST_COLUMNS)]
    return [_group_table(timepoints, title, _SCORE_COLUMNS), _group_table(timepoints, "… and the tests of each group", _TEST_COLUMNS)]


def _group_table(timepoints: list[dict[str, Any]], title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column("Time", no_wrap=True)
    table.add_column("Group", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for entry in timepoints:
        for group in STUDY_GROUPS:
            g = entry["groups"][group]
            cells = {
                "n": number(g["n"]), "Baseline": number(g["baseline_mean"]), "Follow-up": number(g["followup_mean"]),
                "Improvement\n(95% CI)": interval(g["improvement_mean"], g["ci_low"], g["ci_high"]),
                "SD": number(g["improvement_sd"]), "Paired t\np": p_value(g["paired_t_p"]), "Wilcoxon\np": p_value(g["wilcoxon_p"]),
                "≥30%\nresp.": f"{g['responders_30']}/{g['evaluable']}", "≥50%\nresp.": f"{g['responders_50']}/{g['evaluable']}",
            }  # fmt: skip
            table.add_row(entry["timepoint"], group, *(cells[c] for c in columns), end_section=group == STUDY_GROUPS[-1])
    return table


def comparison_table(timepoints: list[dict[str, Any]]) -> Table:
    """Osteoporotic-minus-pathologic comparisons, one row per timepoint (fits a 100-column terminal)."""
    # Two-line headers no wider than their numbers, no outer frame and single spaces between columns:
    # a row whose intervals are all as wide as "-1.14 (-2.27, -0.56)" fits on one line of 100 columns.
    table = Table(
        title="Osteoporotic minus pathologic improvement (positive: osteoporotic improved more)",
        title_justify="left",
        caption="Diff: Welch t with its 95% CI; MW: Mann–Whitney; ANCOVA: adjusted for baseline, age and sex; "
        "Resp ≥30%: difference in ≥30% responders, percentage points (Newcombe CI), with Fisher's exact p.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("Time", "Diff\n(95% CI)", "Welch\np", "MW\np", "ANCOVA\n(95% CI)", "ANCOVA\np",
                   "Resp ≥30%\n(95% CI)", "Fisher\np"):  # fmt: skip
        table.add_column(column, justify="left" if column == "Time" else "right")
    for entry in timepoints:
        c = entry["comparison"]
        table.add_row(
            entry["timepoint"], interval(c["difference"], c["ci_low"], c["ci_high"]), p_value(c["welch_p"]),
            p_value(c["mann_whitney_p"]), interval(c["ancova_difference"], c["ancova_ci_low"], c["ancova_ci_high"]),
            p_value(c["ancova_p"]),
            interval(_percent(c["responders_30_difference"]), _percent(c["responders_30_ci_low"]),
                     _percent(c["responders_30_ci_high"]), digits=0),
            p_value(c["responders_30_fisher_p"]),
        )  # fmt: skip
    return table


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _mixed_table(mixed: dict[str, Any]) -> Table:
    table = Table(title="Mixed model over all follow-ups (random intercept per patient, REML)", title_justify="left")
    for column in ("Rows", "Patients", "Osteo. − path. (95% CI)", "SE", "Patient variance", "Residual variance"):
        table.add_column(column, justify="right")
    table.add_row(
        number(mixed["n_observations"]), number(mixed["n_patients"]),
        interval(mixed["etiology_difference"], mixed.get("etiology_ci_low"), mixed.get("etiology_ci_high")),
        number(mixed["etiology_se"], 3), number(mixed["patient_variance"], 3), number(mixed["residual_variance"], 3),
    )  # fmt: skip
    return table


def _recurrence_table(recurrence: dict[str, Any]) -> Table:
    table = Table(title="Time to recurrent pain", title_justify="left")
    for column in ("Group", "Recurrences", "Median days (KM)"):
        table.add_column(column, justify="left" if column == "Group" else "right")
    for group in STUDY_GROUPS:
        patients = recurrence.get(f"patients_{group}")
        events = number(recurrence[f"events_{group}"]) + ("" if patients is None else f"/{patients:,}")
        median = recurrence[f"median_days_{group}"]
        table.add_row(group, events, "not reached" if median is None else number(median, 1))
    return table


def _recurrence_line(recurrence: dict[str, Any]) -> str:
    hr = interval(recurrence["hazard_ratio"], recurrence["hr_ci_low"], recurrence["hr_ci_high"])
    return f"Log-rank p = {p_value(recurrence['logrank_p'])}; hazard ratio pathologic vs osteoporotic (Cox) = {hr}"


def _completeness_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Completeness (seen/expected)", title_justify="left")
    table.add_column("Timepoint")
    for group in STUDY_GROUPS:
        table.add_column(group, justify="right")
    for row in rows:
        cells = []
        for group in STUDY_GROUPS:
            counts = row["groups"][group]
            share = "" if not counts["expected"] else f" ({fmt.share(counts['observed'], counts['expected'])})"
            cells.append(f"{counts['observed']}/{counts['expected']}{share}")
        table.add_row(row["timepoint"], *cells)
    return table


def power_sentence(power: dict[str, Any]) -> str:
    """The power section in words, as a reader of the report wants it."""
    timepoint = power["timepoint"]
    if power["minimal_detectable_difference"] is None:
        return f"\nPower at {timepoint}: not computable (see the warnings)."
    text = (
        f"\nPower at {timepoint}: with {power['n_pathologic']:,} pathologic and {power['n_osteoporotic']:,} "
        f"osteoporotic patients, the smallest difference in mean improvement detectable with 80% power "
        f"(two-sided alpha 0.05) is {power['minimal_detectable_difference']:.2f} points "
        f"(pooled SD {power['sd']:.2f}); the observed difference is {power['observed_difference']:.2f} points"
    )
    needed = power["per_group_needed_equal"]
    if needed is None:
        return text + "; no feasible group size would detect it."
    return text + f"; {needed:,} patients per group would be needed to detect it with 80% power."
