"""Server-side SVG charts: geometry follows the numbers, text is escaped, gaps break lines."""

from __future__ import annotations

import re

from vertebro.registry.web.charts import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, Series, capture_chart, line_chart


def _y(value: float, y_max: float = 10) -> float:
    return MARGIN_TOP + (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) * (1 - value / y_max)


def test_points_sit_at_their_values_and_a_gap_breaks_the_line():
    svg = line_chart(title="t", x_labels=["a", "b", "c", "d"], series=[Series("S", "s-1", [8, None, 4, 2], [10, 0, 7, 5])])
    ys = [float(y) for y in re.findall(r'<circle[^>]*cy="([\d.]+)"', svg)]
    assert ys == [round(_y(v), 1) for v in (8, 4, 2)]
    polylines = re.findall(r'<polyline[^>]*points="([^"]+)"', svg)
    assert len(polylines) == 1 and len(polylines[0].split()) == 2  # c–d only; a stands alone
    assert "S at c: 4.0, n = 7" in svg


def test_labels_are_escaped():
    svg = line_chart(title="<script>", x_labels=["<b>"], series=[Series("a&b", "s-1", [1])])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg


def test_capture_bars_and_the_target_line():
    svg = capture_chart(title="c", x_labels=["x", "y", "z"], rates=[0.9, None, 0.5], target=0.8, target_index=2)
    assert 'class="bar low"' in svg and 'class="bar ok"' not in svg and 'class="bar"' in svg
    assert "n/a" in svg and "90%" in svg and "target 80%" in svg
    target_y = float(re.search(r'class="target" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"', svg).group(1))
    assert target_y == round(_y(0.8, 1), 1)
