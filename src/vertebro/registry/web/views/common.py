"""Helpers the views share: today's date, where to go next, how dates read, and the conflict page."""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from ...models import Patient
from ...selectors.history import ValueDisplay
from ...services.records import EditConflict
from ..permissions import access_for


def today() -> date:
    return timezone.localdate()


def next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter when it points inside this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return default


def value_display(request: HttpRequest, patient: Patient, index_on: date | None) -> ValueDisplay:
    """Identified for readers who may see this site's identifiers; de-identified otherwise."""
    return ValueDisplay(deidentify=not access_for(request).sees_phi(patient.site_id), index_on=index_on)


def shown(field: forms.Field, value: object) -> str:
    """A value as the form would show it: the label of a choice, yes/no, dates as YYYY-MM-DD."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = getattr(field, "choices", None)
    if choices:
        labels = {str(code): label for code, label in choices}
        if isinstance(value, (list, tuple)):
            return "; ".join(labels.get(str(v), str(v)) for v in value)
        key = "yes" if value is True else "no" if value is False else str(value)
        return str(labels.get(key, value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def conflict_rows(form: forms.Form, saved: dict[str, object]) -> list[dict[str, object]]:
    """One row per form field: the value saved now (someone else's) and the value this user entered."""
    rows = []
    for name, saved_value in saved.items():
        field = form.fields[name]
        theirs, mine = shown(field, saved_value), shown(field, form.cleaned_data.get(name))
        rows.append({"label": field.label or name, "saved": theirs, "yours": mine, "differs": theirs != mine})
    return rows


def render_conflict(
    request: HttpRequest,
    *,
    template: str,
    context: dict,
    form: forms.Form,
    form_kwargs: dict,
    conflict: EditConflict,
    saved: dict[str, object],
) -> HttpResponse:
    """Refuse a stale save: show both versions side by side and let the user decide.

    The form comes back with what the user typed, now carrying the version saved in the meantime, so
    saving again is a deliberate choice made with both versions in view — never a silent overwrite.
    """
    latest = conflict.current.history.order_by("-history_id").select_related("history_user").first()
    data = form.data.copy()
    data["version"] = str(conflict.current.version)
    form = type(form)(data, **form_kwargs)
    form.is_valid()
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "conflict": {
                "rows": conflict_rows(form, saved),
                "by": latest.history_user.get_username() if latest and latest.history_user_id else "someone else",
                "at": latest.history_date if latest else None,
                "version": conflict.current.version,
            },
        },
        status=409,
    )
