"""Small charts drawn on the server as inline SVG: they need no JavaScript and print as they show.

Every chart has a ``<title>`` and ``aria-label`` and sits next to a table with the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58, 36, 36, 40


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend, a CSS class for its colour, and one value (or None) per x label.

    Attributes
    ----------
    counts : sequence of int, optional
        How many values each point summarises (shown on hover).
    """

    name: str
    css_class: str
    values: Sequence[float | None]
    counts: Sequence[int] | None = None


def _x_positions(n: int) -> list[float]:
    """Points from the left edge to the right edge of the plot (lines)."""
    inner = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    if n == 1:
        return [MARGIN_LEFT + inner / 2]
    return [MARGIN_LEFT + inner * i / (n - 1) for i in range(n)]


def _band_centres(n: int) -> list[float]:
    """The middles of ``n`` equal bands across the plot (bars, which must not cross the axis)."""
    inner = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    return [MARGIN_LEFT + inner * (i + 0.5) / n for i in range(n)]


def _y(value: float, y_max: float) -> float:
    inner = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    return MARGIN_TOP + inner * (1 - value / y_max)


def _frame(title: str, x_labels: Sequence[str], xs: Sequence[float], y_max: float, y_ticks: Sequence[float], y_format: str) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in y_ticks:
        y = _y(tick, y_max)
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{y_format.format(tick)}</text>')
    for x, label in zip(xs, x_labels):
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>')
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], MARGIN_LEFT
    for s in series:
        parts.append(f'<rect class="swatch {s.css_class}" x="{x}" y="8" width="12" height="12" rx="2"/>')
        parts.append(f'<text class="legend" x="{x + 16}" y="18">{escape(s.name)}</text>')
        x += 24 + 7 * len(s.name)
    return parts


def line_chart(*, title: str, x_labels: Sequence[str], series: Sequence[Series], y_max: float = 10.0, y_label: str = "") -> SafeString:
    """Lines over categorical x positions; a missing value breaks its line."""
    xs = _x_positions(len(x_labels))
    parts = _frame(title, x_labels, xs, y_max, [y_max * i / 5 for i in range(6)], "{:g}")
    for s in series:
        segment: list[str] = []
        segments = []
        for x, value in zip(xs, s.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{x:.1f},{_y(value, y_max):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                parts.append(f'<polyline class="line {s.css_class}" points="{" ".join(points)}"/>')
        for i, (x, value) in enumerate(zip(xs, s.values)):
            if value is None:
                continue
            n = f", n = {s.counts[i]}" if s.counts else ""
            parts.append(
                f'<circle class="point {s.css_class}" cx="{x:.1f}" cy="{_y(value, y_max):.1f}" r="4">'
                f"<title>{escape(s.name)} at {escape(x_labels[i])}: {value:.1f}{n}</title></circle>"
            )
    if y_label:
        parts.append(
            f'<text class="axis-label" transform="translate(12 {HEIGHT / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
        )
    parts += _legend(series)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above went through escape()


def capture_chart(*, title: str, x_labels: Sequence[str], rates: Sequence[float | None], target: float, target_index: int) -> SafeString:
    """Bars of capture rates (0–1) with the target as a dashed line; the bar the target applies to
    (``target_index``) shows whether it meets it."""
    xs = _band_centres(len(x_labels))
    parts = _frame(title, x_labels, xs, 1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0], "{:.0%}")
    bar = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / len(x_labels) * 0.6
    for i, (x, label, rate) in enumerate(zip(xs, x_labels, rates)):
        if rate is None:
            parts.append(f'<text class="tick" x="{x:.1f}" y="{_y(0.05, 1):.1f}" text-anchor="middle">n/a</text>')
            continue
        top = _y(rate, 1.0)
        css = "bar" if i != target_index else "bar ok" if rate >= target else "bar low"
        parts.append(
            f'<rect class="{css}" x="{x - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{_y(0, 1) - top:.1f}">'
            f"<title>{escape(label)}: {rate:.0%}</title></rect>"
        )
        parts.append(f'<text class="bar-label" x="{x:.1f}" y="{top - 4:.1f}" text-anchor="middle">{rate:.0%}</text>')
    y = _y(target, 1.0)
    parts.append(f'<line class="target" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
    parts.append(f'<text class="target-label" x="{WIDTH - MARGIN_RIGHT}" y="{y - 5:.1f}" text-anchor="end">target {target:.0%}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above went through escape()
