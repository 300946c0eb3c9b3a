"""Figures of the report, drawn with matplotlib's Agg backend and embedded as SVG data URIs.

Each function takes unrounded numbers and returns ``data:image/svg+xml;base64,...`` (one
self-contained document per figure, so nothing clashes in the page and print stays sharp), or
``None`` when there is nothing to draw. Figures use the object API (``Figure``), never pyplot's
global state.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..domain.timepoints import BY_CODE  # noqa: E402
from ..domain.vocabulary import STUDY_GROUPS  # noqa: E402

#: Okabe–Ito colours: distinguishable with colour-vision deficiency and in greyscale print.
COLOURS = {"osteoporotic": "#0072B2", "pathologic": "#D55E00"}
MARKERS = {"osteoporotic": "o", "pathologic": "s"}
LABELS = {"osteoporotic": "Osteoporotic", "pathologic": "Pathologic"}

_RC = {
    "svg.fonttype": "path",  # glyphs as paths: no font needs to be installed where it is read
    "svg.hashsalt": "vertebro",  # stable ids, so the same data give the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pain_trajectory(
    pain: pd.DataFrame, *, ylabel: str = "Pain (VPS 0–10), mean and 95% CI", ylim: tuple[float, float] = (0, 10)
) -> str | None:
    """Mean score with 95% CI per timepoint and group (from ``summaries.pain_by_timepoint``; pain by
    default, any instrument measure with its own label and range)."""
    if pain.empty or pain["mean"].isna().all():
        return None
    with matplotlib.rc_context(_RC):
        figure = _new_figure(7.2, 3.4)
        ax = figure.add_subplot()
        codes = list(dict.fromkeys(pain["timepoint"]))
        positions = {code: i for i, code in enumerate(codes)}
        for offset, group in zip((-0.08, 0.08), STUDY_GROUPS):
            rows = pain[(pain["group"] == group) & pain["mean"].notna()]
            if rows.empty:
                continue
            x = rows["timepoint"].map(positions).to_numpy(dtype=float) + offset
            mean = rows["mean"].to_numpy(dtype=float)
            low = np.where(rows["ci_low"].isna(), mean, rows["ci_low"])
            high = np.where(rows["ci_high"].isna(), mean, rows["ci_high"])
            ax.errorbar(
                x, mean, yerr=[mean - low, high - mean], color=COLOURS[group], marker=MARKERS[group],
                markersize=5, capsize=3, linewidth=1.5, label=LABELS[group],
            )
        ax.set_xticks(range(len(codes)), [BY_CODE[code].label for code in codes])
        ax.set_ylabel(ylabel)
        ax.set_ylim(*ylim)
        ax.legend(loc="upper right")
        return _to_data_uri(figure)


def improvement_distribution(improvement: pd.DataFrame, timepoint_phrase: str) -> str | None:
    """Share of each group at each improvement value (one-point bins), group means dashed."""
    values = improvement["improvement"].dropna()
    if values.empty:
        return None
    with matplotlib.rc_context(_RC):
        figure = _new_figure(7.2, 3.2)
        ax = figure.add_subplot()
        edges = np.arange(math.floor(values.min()) - 0.5, math.ceil(values.max()) + 1.5, 1.0)
        centres = (edges[:-1] + edges[1:]) / 2
        width = 0.4
        for offset, group in zip((-width / 2, width / 2), STUDY_GROUPS):
            own = improvement.loc[improvement["group"] == group, "improvement"].dropna()
            if own.empty:
                continue
            counts, _ = np.histogram(own, bins=edges)
            ax.bar(centres + offset, 100 * counts / len(own), width=width, color=COLOURS[group],
                   label=f"{LABELS[group]} (n = {len(own)})")
            ax.axvline(own.mean(), color=COLOURS[group], linestyle="--", linewidth=1.4, zorder=3)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        ax.set_xlabel(f"Improvement {timepoint_phrase} (baseline − follow-up, points; dashed: group mean)")
        ax.set_ylabel("Patients of the group (%)")
        ax.legend(loc="upper left")
        return _to_data_uri(figure)


#: Tick spacings in days that read naturally on a follow-up axis (a week … a year).
_DAY_STEPS = (1, 7, 14, 30, 60, 90, 180, 365, 730)


def survival_ticks(times: pd.DataFrame | None) -> list[float]:
    """The day ticks of the Kaplan–Meier axis (also the columns of the numbers-at-risk table)."""
    if times is None or times.empty:
        return []
    horizon = max(float(times["days"].max()), 1.0)
    step = next((s for s in _DAY_STEPS if horizon / s <= 7), _DAY_STEPS[-1] * math.ceil(horizon / (7 * _DAY_STEPS[-1])))
    return [float(day) for day in np.arange(0, horizon + 1e-9, step)]


def kaplan_meier(times: pd.DataFrame | None) -> str | None:
    """Kaplan–Meier curves of freedom from recurrent pain with 95% bands; ticks mark censoring."""
    if times is None or times.empty:
        return None
    from lifelines import KaplanMeierFitter

    with matplotlib.rc_context(_RC):
        figure = _new_figure(7.2, 3.3)
        ax = figure.add_subplot()
        horizon = float(times["days"].max())
        for group in STUDY_GROUPS:
            own = times[times["group"] == group]
            if own.empty:
                continue
            fitter = KaplanMeierFitter(label=LABELS[group]).fit(own["days"], own["event"])
            curve = fitter.survival_function_.iloc[:, 0]
            band = fitter.confidence_interval_survival_function_
            ax.step(curve.index, curve.to_numpy(), where="post", color=COLOURS[group], linewidth=1.6,
                    label=f"{LABELS[group]} ({int(own['event'].sum())} events, {len(own)} patients)")
            ax.fill_between(band.index, band.iloc[:, 0], band.iloc[:, 1], step="post",
                            color=COLOURS[group], alpha=0.12, linewidth=0)
            censored = own.loc[own["event"] == 0, "days"].unique()
            ax.plot(censored, fitter.survival_function_at_times(censored).to_numpy(), "|",
                    color=COLOURS[group], markersize=7, markeredgewidth=1.2)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, horizon * 1.02 if horizon > 0 else 1)
        ax.set_xticks(survival_ticks(times))
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
        ax.set_ylabel("Free of recurrent pain")
        ax.set_xlabel("Days from the procedure")
        ax.legend(loc="lower left")
        return _to_data_uri(figure)


@dataclass(frozen=True)
class ForestRow:
    """One estimate of the forest plot: osteoporotic minus pathologic improvement, in points.

    ``label`` names the line of the plot (a timepoint, or the mixed model); estimates sharing a
    label are drawn on that line, one per ``method`` (``"raw"``, ``"ancova"`` or ``"mixed"``).
    ``emphasis`` marks the primary timepoint.
    """

    label: str
    method: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    emphasis: bool = False


_METHOD_STYLE = {
    "raw": dict(marker="o", color="#222222", offset=0.17, name="raw difference (Welch)"),
    "ancova": dict(marker="s", color="#8a8a8a", offset=-0.17, name="ANCOVA"),
    "mixed": dict(marker="D", color="#222222", offset=0.0, name="mixed model (± 1.96·SE)"),
}


def forest(rows: Sequence[ForestRow]) -> str | None:
    """Between-group differences with 95% CIs; positive favours osteoporotic fractures."""
    usable = [row for row in rows if _finite(row.estimate)]
    if not usable:
        return None
    labels = list(dict.fromkeys(row.label for row in rows))
    line_of = {label: len(labels) - 1 - i for i, label in enumerate(labels)}  # first label on top
    with matplotlib.rc_context(_RC):
        figure = _new_figure(7.2, 1.2 + 0.42 * len(labels))
        ax = figure.add_subplot()
        drawn: set[str] = set()
        for row in rows:
            style = _METHOD_STYLE[row.method]
            y = line_of[row.label] + style["offset"]
            if not _finite(row.estimate):
                ax.text(0, y, f"{style['name']}: not estimable", ha="left", va="center", color="#777777",
                        fontsize=7.5)
                continue
            if _finite(row.ci_low) and _finite(row.ci_high):
                ax.plot([row.ci_low, row.ci_high], [y, y], color=style["color"], linewidth=1.4)
            ax.plot([row.estimate], [y], linestyle="none", marker=style["marker"], color=style["color"],
                    markersize=6, label=None if row.method in drawn else style["name"])
            drawn.add(row.method)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ends = [0.0] + [v for row in usable for v in (row.estimate, row.ci_low, row.ci_high) if _finite(v)]
        pad = 0.08 * (max(ends) - min(ends) or 1.0)
        ax.set_xlim(min(ends) - pad, max(ends) + pad)
        ax.set_yticks([line_of[label] for label in labels], labels)
        emphasised = {row.label for row in rows if row.emphasis}
        for tick in ax.get_yticklabels():
            if tick.get_text() in emphasised:
                tick.set_fontweight("bold")
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("Difference in improvement, points (← pathologic better | osteoporotic better →)")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, handletextpad=0.3)
        return _to_data_uri(figure)


def _finite(value: object) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)
