"""The contract's ``instruments`` section as terminal tables (display rounds; the contract does not)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from ..domain.instruments import MEASURES
from ..domain.vocabulary import STUDY_GROUPS

__all__ = ["instrument_tables"]


def instrument_tables(sections: dict[str, Any]) -> list[Table]:
    """One table per measure with scores; one line listing the measures without any."""
    from .analysis_cmds import interval, number, p_value

    tables = []
    for code, section in sections.items():
        if not section.get("timepoints"):
            continue
        digits = MEASURES[code].decimals if code in MEASURES else 2
        better = "higher" if section["direction"] == "higher_is_better" else "lower"
        mcid = section.get("mcid")
        table = Table(
            title=f"{section['label']} — improvement by group ({better} is better; positive = improved)",
            title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
            caption=None if mcid is None else f"Responders: improved by at least the MCID, {mcid:g} ({section['mcid_source']}).",
            caption_justify="left",
        )  # fmt: skip
        for column in ("Time", "n O/P", "Osteoporotic (95% CI)", "Pathologic (95% CI)", "O − P (95% CI)", "ANCOVA p", "Resp. O/P"):
            table.add_column(column, justify="left" if column == "Time" else "right", no_wrap=True)
        for entry in section["timepoints"]:
            g = [entry["groups"][group] for group in STUDY_GROUPS]
            c = entry["comparison"]
            responders = "—" if mcid is None else f"{g[0]['responders_mcid']}/{g[0]['n']}, {g[1]['responders_mcid']}/{g[1]['n']}"
            table.add_row(
                entry["timepoint"], f"{g[0]['n']}/{g[1]['n']}",
                *(interval(block["improvement_mean"], block["ci_low"], block["ci_high"], digits) for block in g),
                interval(c["difference"], c["ci_low"], c["ci_high"], digits), p_value(c["ancova_p"]), responders,
            )  # fmt: skip
        mixed = section.get("mixed_model") or {}
        if mixed.get("etiology_difference") is not None:
            table.add_row("all (mixed)", number(mixed["n_patients"]), "", "",
                          interval(mixed["etiology_difference"], mixed["etiology_ci_low"], mixed["etiology_ci_high"], digits), "", "")  # fmt: skip
        tables.append(table)
    absent = [section["label"] for section in sections.values() if not section.get("timepoints")]
    if absent and len(absent) < len(sections):
        note = Table(show_header=False, box=None)
        note.add_row(f"No scores for: {'; '.join(absent)}.")
        tables.append(note)
    return tables
