"""Template filters of the app (loaded with ``{% load vertebro_web %}``)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from django import template

from ...domain.timepoints import BY_CODE
from ...domain.eligibility import ABSOLUTE_CONTRAINDICATION, INDICATION, RELATIVE_CONTRAINDICATION
from ..selectors.history import ValueDisplay

register = template.Library()


@register.filter
def when(value: date | None, display: ValueDisplay | None) -> str:
    """A clinical date as this reader may see it: the date, or days from the index procedure."""
    if value is None:
        return "—"
    if display is None:
        return value.isoformat()
    return display.date(value)


@register.filter
def age_shown(age: int | None, deidentify: bool) -> str:
    """Whole years; de-identified readers see ages over 89 as "90+" (HIPAA Safe Harbor)."""
    if age is None:
        return "—"
    if deidentify and age > 89:
        return "90+"
    return str(age)


@register.filter
def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".removesuffix(".0")


@register.filter
def timepoint(code: str) -> str:
    """A timepoint code as people say it ("3 months")."""
    return BY_CODE[code].label if code in BY_CODE else "Unscheduled"


@register.filter
def mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@register.filter
def percent(value: float | None) -> str:
    """Whole percent, rounded down: 300 of 301 reads 99%, never 100% (capture looks complete only when
    it is), and 79.6% reads 79%, not the 80% target."""
    if value is None:
        return "—"
    return f"{math.floor(value * 100 + 1e-9):d}%"


@register.filter
def lookup(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


_CHECKLISTS = {"indication": INDICATION, "absolute": ABSOLUTE_CONTRAINDICATION, "relative": RELATIVE_CONTRAINDICATION}


@register.filter
def checklist_labels(codes: list[str], which: str) -> str:
    """The labels of eligibility checklist codes (``which``: indication, absolute or relative)."""
    vocabulary = _CHECKLISTS[which]
    return "; ".join(vocabulary.label(code) if code in vocabulary else code for code in codes or [])


@register.filter
def minutes(value: timedelta) -> str:
    """A lock-out pause in words: ``15 minutes``."""
    count = max(1, round(value.total_seconds() / 60))
    return f"{count} minute{'s' if count != 1 else ''}"


@register.simple_tag
def login_locks_address() -> bool:
    """Whether failed logins also lock the address they come from (``VERTEBRO_LOGIN_LOCK_ADDRESS``)."""
    from django.conf import settings

    return "ip_address" in settings.AXES_LOCKOUT_PARAMETERS
