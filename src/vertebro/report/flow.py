"""The STROBE flow of the analysis contract's ``flow`` key, drawn three ways: an SVG diagram for the HTML
report, the rows of the table beside it, and a plain-text table for the terminal.

The diagram is written here as SVG text rather than drawn by matplotlib: boxes and arrows are what it
is, the text stays text (searchable, sharp at any zoom, black on white when printed) and no figure
library lays it out. It is inline markup without an ``xmlns`` (HTML needs none, and the report names
no URL). Every count is shown as given; a null count reads "not known".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..domain.timepoints import BY_CODE
from ..domain.vocabulary import ETIOLOGY, MISSING_REASON, STUDY_GROUPS

__all__ = ["FlowRow", "flow_rows", "flow_svg", "flow_text_table", "flow_view", "reason_label"]

_GROUP_LABELS = {"osteoporotic": "Osteoporotic", "pathologic": "Pathologic"}
_EXTRA_REASONS = {"not_yet_due": "Not yet due", "unknown": "Reason not known"}
_UNKNOWN = "not known"


def reason_label(code: str) -> str:
    return _EXTRA_REASONS.get(code) or MISSING_REASON.label(code)


def _timepoint_label(code: str) -> str:
    return BY_CODE[code].label if code in BY_CODE else code


def _patients(value: object) -> str:
    return f"{_count(value)} patient" + ("" if value == 1 else "s")


def _count(value: object) -> str:
    return _UNKNOWN if value is None else f"{int(value):,}"  # type: ignore[call-overload]


@dataclass(frozen=True)
class FlowRow:
    """One timepoint of one group as the report shows it.

    Attributes
    ----------
    group, timepoint : str
        Codes.
    assessed, not_assessed : int
    reasons : tuple of (str, str)
        ``(label, count)`` of every reason with a count other than 0, in the contract's order; a null
        count shows as "not known".
    """

    group: str
    timepoint: str
    assessed: int
    not_assessed: int
    reasons: tuple[tuple[str, str], ...]


def flow_rows(flow: Mapping[str, Any] | None) -> list[FlowRow]:
    """Rows of the flow table, groups in study order, timepoints in schedule order."""
    rows = []
    for group in STUDY_GROUPS:
        for entry in ((flow or {}).get("groups") or {}).get(group, {}).get("timepoints") or []:
            missing = entry.get("missing") or {}
            reasons = tuple(
                (reason_label(code), _count(count))
                for code, count in missing.items()
                if count is None and entry["not_assessed"] or count
            )
            rows.append(FlowRow(group, entry["timepoint"], entry["assessed"], entry["not_assessed"], reasons))
    return rows


def _top_boxes(flow: Mapping[str, Any]) -> list[str]:
    other = [(code, n) for code, n in (flow.get("by_etiology") or {}).items() if code not in STUDY_GROUPS and n]
    lines = [f"Registered: {_patients(flow.get('registered'))}", f"Treated (index procedure): {_count(flow.get('treated'))}"]
    if other:
        lines.append("Not compared: " + ", ".join(f"{ETIOLOGY.label(code).lower()} {n:,}" for code, n in other))
    return lines


def flow_text_table(flow: Mapping[str, Any] | None) -> str:
    """The flow as a plain-text table (fixed width, for a terminal or a text file)."""
    if not flow:
        return "Flow of patients: not in this analysis."
    out = ["Flow of patients", *[f"  {line}" for line in _top_boxes(flow)]]
    rows = flow_rows(flow)
    for group in STUDY_GROUPS:
        patients = ((flow.get("groups") or {}).get(group) or {}).get("patients")
        out.append(f"  {_GROUP_LABELS[group]}: {_patients(patients)}")
        mine = [row for row in rows if row.group == group]
        if not mine:
            continue
        out.append(f"    {'Timepoint':<16}{'Assessed':>10}{'Not assessed':>14}  Why not")
        for row in mine:
            why = "; ".join(f"{label} {count}" for label, count in row.reasons) or "—"
            out.append(f"    {_timepoint_label(row.timepoint):<16}{row.assessed:>10,}{row.not_assessed:>14,}  {why}")
    if flow.get("data_cutoff"):
        out.append(f"  Not yet due = window still open at the data cut-off {flow['data_cutoff']}.")
    return "\n".join(out)


# Layout of the diagram, in SVG user units (px at 100%).
_WIDTH, _COLUMN, _GAP, _LINE, _PAD = 720, 330, 20, 16, 8
_FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12"'


def _box(x: float, y: float, width: float, lines: Sequence[str], *, bold_first: bool = True) -> tuple[str, float]:
    """A box with one text line per entry; returns its SVG and its height."""
    height = 2 * _PAD + _LINE * len(lines) - 4
    parts = [f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="#fff" stroke="#1a1a1a" stroke-width="1"/>']
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if bold_first and i == 0 else ""
        indent = 12 if line.startswith("  ") else 0  # a reason under "Not assessed" (SVG drops the spaces)
        parts.append(f'<text x="{x + _PAD + indent}" y="{y + _PAD + 9 + i * _LINE}"{weight}>{escape(line.strip())}</text>')
    return "".join(parts), height


def _arrow(x: float, y1: float, y2: float) -> str:
    return f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2 - 1}" stroke="#1a1a1a" stroke-width="1" marker-end="url(#flow-arrow)"/>'


def flow_svg(flow: Mapping[str, Any] | None) -> str | None:
    """The flow diagram as inline SVG markup (None without a flow): registered and treated on top, a
    column per study group below, one box per timepoint with the number assessed and, for the others,
    each reason that applies."""
    if not flow:
        return None
    parts: list[str] = []
    y = 10.0
    top, height = _box((_WIDTH - 400) / 2, y, 400, _top_boxes(flow), bold_first=False)
    parts.append(top)
    y += height
    columns = [(_WIDTH / 2 - _GAP / 2 - _COLUMN, group) for group in STUDY_GROUPS[:1]] + [(_WIDTH / 2 + _GAP / 2, STUDY_GROUPS[1])]
    fork = y + 14
    parts.append(f'<line x1="{_WIDTH / 2}" y1="{y}" x2="{_WIDTH / 2}" y2="{fork}" stroke="#1a1a1a" stroke-width="1"/>')
    centres = [x + _COLUMN / 2 for x, _ in columns]
    parts.append(f'<line x1="{centres[0]}" y1="{fork}" x2="{centres[1]}" y2="{fork}" stroke="#1a1a1a" stroke-width="1"/>')
    y = fork + 16
    for centre in centres:
        parts.append(_arrow(centre, fork, y))
    rows = flow_rows(flow)
    groups = flow.get("groups") or {}
    heads = [_box(x, y, _COLUMN, [f"{_GROUP_LABELS[g]}: {_patients((groups.get(g) or {}).get('patients'))}"]) for x, g in columns]
    parts.extend(svg for svg, _ in heads)
    y += max(h for _, h in heads)
    timepoints = list(dict.fromkeys(row.timepoint for row in rows))
    for code in timepoints:
        cells = []
        for x, group in columns:
            row = next((r for r in rows if r.group == group and r.timepoint == code), None)
            lines = [f"{_timepoint_label(code)}: {row.assessed:,} assessed" if row else f"{_timepoint_label(code)}: —"]
            if row and row.not_assessed:
                lines.append(f"Not assessed: {row.not_assessed:,}")
                lines.extend(f"  {label}: {count}" for label, count in row.reasons)
            cells.append((x, lines))
        top_y = y + 18
        for centre in centres:
            parts.append(_arrow(centre, y, top_y))
        drawn = [_box(x, top_y, _COLUMN, lines) for x, lines in cells]
        parts.extend(svg for svg, _ in drawn)
        y = top_y + max(h for _, h in drawn)
    height = y + 10
    title = "Flow of patients: registered, treated, by etiology, and assessed at each timepoint"
    return (
        f'<svg viewBox="0 0 {_WIDTH} {height:.0f}" width="100%" role="img" '
        f'aria-labelledby="flow-title" {_FONT} fill="#1a1a1a">'
        f'<title id="flow-title">{escape(title)}</title>'
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1a1a1a"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


def flow_view(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """What the report's flow partial (``flow.html.j2``) shows."""
    flow = analysis.get("flow")
    return {
        "present": bool(flow),
        "svg": flow_svg(flow),
        "top": _top_boxes(flow) if flow else [],
        "rows": flow_rows(flow),
        "patients": {g: ((flow or {}).get("groups") or {}).get(g, {}).get("patients") for g in STUDY_GROUPS},
        "cutoff": (flow or {}).get("data_cutoff"),
        "group_labels": _GROUP_LABELS,
        "label_of": _timepoint_label,
    }
