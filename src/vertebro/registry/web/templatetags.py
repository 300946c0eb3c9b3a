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
    """A lock-out pause in words: ``15 minutes``, ``1 minute``."""
    from .middleware import minutes_in_words

    return minutes_in_words(value.total_seconds())


@register.simple_tag(takes_context=True)
def lockout_time_left(context) -> str:  # noqa: ANN001
    """How long the pause on the lock-out page still lasts, in words: from the latest failed attempt
    counted against the account (or the address, when addresses are locked too) to the end of the cool-off."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.db.models import Q
    from django.utils import timezone

    from .middleware import client_ip_address, minutes_in_words

    request, cool_off = context.get("request"), get_cool_off()
    if request is None or cool_off is None:
        return ""
    which = Q(username=context.get("username") or "")
    if "ip_address" in settings.AXES_LOCKOUT_PARAMETERS:
        which |= Q(ip_address=client_ip_address(request))
    latest = AccessAttempt.objects.filter(which).order_by("-attempt_time").values_list("attempt_time", flat=True).first()
    if latest is None:
        return ""
    return minutes_in_words(max(1.0, (latest + cool_off - timezone.now()).total_seconds()))


@register.simple_tag
def login_locks_address() -> bool:
    """Whether failed logins also lock the address they come from (``VERTEBRO_LOGIN_LOCK_ADDRESS``)."""
    from django.conf import settings

    return "ip_address" in settings.AXES_LOCKOUT_PARAMETERS
