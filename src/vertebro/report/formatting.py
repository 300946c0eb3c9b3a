"""Display formatting for the report: the only place numbers are rounded.

Every formatter takes the unrounded value and returns text; a missing value (``None`` or NaN)
becomes an em dash, so a null in the analysis never crashes a template.
"""

from __future__ import annotations

import math
from numbers import Real

MISSING = "—"


def is_missing(value: object) -> bool:
    """True for ``None``, NaN, pandas NA and anything that is not a real number."""
    if value is None or isinstance(value, bool):
        return value is None
    if isinstance(value, Real):
        return math.isnan(float(value))
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def number(value: object, digits: int = 2) -> str:
    """``7.3846`` → ``"7.38"``; a minus sign, not a hyphen, for negatives."""
    if is_missing(value):
        return MISSING
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "-0.00"
    return text.replace("-", "−")


def integer(value: object) -> str:
    if is_missing(value):
        return MISSING
    return f"{int(round(float(value))):,}"


def percent(value: object, digits: int = 1) -> str:
    """A percentage already on the 0–100 scale."""
    return MISSING if is_missing(value) else f"{number(value, digits)}%"


def proportion(value: object, digits: int = 1) -> str:
    """A proportion on the 0–1 scale shown as a percentage."""
    return MISSING if is_missing(value) else percent(100 * float(value), digits)


def p_value(value: object) -> str:
    """``0.0004`` → ``"<0.001"``; otherwise three decimals (``"0.042"``)."""
    if is_missing(value):
        return MISSING
    if float(value) < 0.001:
        return "<0.001"
    return f"{float(value):.3f}"


def p_clause(value: object) -> str:
    """A p-value inside a sentence: ``"p < 0.001"``, ``"p = 0.043"``, ``"p not available"``."""
    if is_missing(value):
        return "p not available"
    text = p_value(value)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def interval(low: object, high: object, digits: int = 2) -> str:
    """``(-0.12, 1.50)`` → ``"−0.12 to 1.50"``; a dash when either end is missing."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{number(low, digits)} to {number(high, digits)}"


def estimate(value: object, low: object, high: object, digits: int = 2, *, scale: float = 1.0) -> str:
    """``"1.01 (0.04 to 1.98)"``; a lone dash when the estimate is missing, ``"1.01 (CI —)"`` when
    only the interval is. ``scale`` multiplies all three (100 shows proportions as percentage points).
    """
    if is_missing(value):
        return MISSING
    shown = number(float(value) * scale, digits)
    if is_missing(low) or is_missing(high):
        return f"{shown} (CI {MISSING})"
    return f"{shown} ({interval(float(low) * scale, float(high) * scale, digits)})"


def count_percent(count: object, total: object) -> str:
    """``12, 40`` → ``"12 (30.0%)"``; the count alone when the total is zero or missing."""
    if is_missing(count):
        return MISSING
    if is_missing(total) or float(total) == 0:
        return integer(count)
    return f"{integer(count)} ({percent(100 * float(count) / float(total))})"


def share(part: object, whole: object, digits: int = 0) -> str:
    """``part`` as a percentage of ``whole``, rounded down (270 of 271 is 99%: a share reads complete only
    when it is); a dash when ``whole`` is zero or missing."""
    if is_missing(part) or is_missing(whole) or float(whole) == 0:
        return MISSING
    scale = 10**digits
    return percent(math.floor(100 * scale * float(part) / float(whole) + 1e-9) / scale, digits)


FILTERS = {
    "num": number,
    "n": integer,
    "share": share,
    "pct": percent,
    "prop": proportion,
    "p": p_value,
    "p_clause": p_clause,
    "ci": interval,
    "estimate": estimate,
    "count_pct": count_percent,
}
