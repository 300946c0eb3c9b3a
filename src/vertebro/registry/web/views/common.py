"""Helpers the views share: today's date, where to go next, how dates read, saving an edit form and
the conflict page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from ....domain.errors import DomainError
from ...models import Patient
from ...selectors.history import ValueDisplay
from ...services.drafts import form_draft_data, form_draft_discard, form_draft_for
from ...services.records import EditConflict, record_update
from ..forms.base import add_service_error
from ..permissions import access_for

#: Said after a form saved without changes (nothing written, no history entry).
NOTHING_SAVED = "Nothing changed: nothing was saved."


def today() -> date:
    return timezone.localdate()


def form_data(request: HttpRequest):  # noqa: ANN201
    """What a form page's form is bound to: the data posted; on opening the page, the draft this user
    left there when their session expired (said in a message), filled in for them to check and send;
    else None (an empty form). Posting the page ends its draft."""
    if request.method == "POST":
        form_draft_discard(user=request.user, path=request.path)
        return request.POST or None
    draft = form_draft_for(user=request.user, path=request.path)
    if draft is None:
        return None
    messages.info(
        request,
        f"Your session ended before this form was saved: what you entered at {timezone.localtime(draft.saved_at):%H:%M} "
        "is filled in below. Check it and save.",
    )
    return form_draft_data(draft)


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


def _same(a: object, b: object) -> bool:
    """Equal, counting an empty string and nothing as the same."""
    return (None if a == "" else a) == (None if b == "" else b)


def _as_post(field: forms.Field, value: object) -> str | None:
    """``value`` as the browser would post it in ``field`` (None: an unticked box, left out)."""
    if isinstance(field, forms.BooleanField):
        return "on" if value else None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def update_if_changed(*, record, expected_version: int, changes: dict[str, object], user, update: Callable[..., object] = record_update) -> bool:  # noqa: ANN001
    """Save ``changes`` through ``update`` (:func:`record_update`, with optimistic locking, or an entity
    service with the same keyword arguments that checks its own rules first) unless they equal what
    the record holds: a form saved without changes writes no version and no empty history entry.
    Returns whether anything was written."""
    if all(_same(getattr(record, name), value) for name, value in changes.items()):
        return False
    update(record=record, expected_version=expected_version, changes=changes, user=user)
    return True


def attributes(names: tuple[str, ...]) -> Callable[[object], dict[str, object]]:
    """A ``values_of`` for :func:`save_edit`: the named attributes, read straight off a record."""
    return lambda record: {name: getattr(record, name) for name in names}


def save_edit(
    request: HttpRequest,
    *,
    form: forms.Form,
    record,  # noqa: ANN001
    changes: dict[str, object],
    values_of: Callable[[object], dict[str, object]],
    template: str,
    context: dict,
    saved: str,
    redirect_to: str,
    form_kwargs: dict | None = None,
    error_fields: dict[str, str] | None = None,
    update: Callable[..., object] = record_update,
) -> HttpResponse:
    """Save a valid edit form's ``changes`` to ``record`` and answer the browser.

    Saved (or nothing changed): a success message (``saved``, or that nothing was saved) and a redirect
    to ``redirect_to``. Someone saved first: the conflict page (409, see :func:`render_conflict`, which
    uses ``values_of`` and ``form_kwargs``). A rule refused it: the form again with the refusal on it
    (``error_fields`` maps service field names to form field names). ``update`` writes the change
    (see :func:`update_if_changed`).
    """
    try:
        written = update_if_changed(record=record, expected_version=form.cleaned_data["version"], changes=changes, user=request.user, update=update)
    except EditConflict as conflict:
        return render_conflict(
            request, template=template, context=context, form=form, form_kwargs=form_kwargs or {}, conflict=conflict, values_of=values_of,
        )
    except (DomainError, ValidationError) as error:
        add_service_error(form, error, error_fields)
        return render(request, template, context)
    messages.success(request, saved if written else NOTHING_SAVED)
    return redirect(redirect_to)


#: What happens to a field when the user saves the re-presented form.
MERGE_NOTES = {
    "same": "",
    "theirs": "their change, kept in the form",
    "yours": "your change",
    "both": "changed by both: the form holds yours",
}


def render_conflict(
    request: HttpRequest,
    *,
    template: str,
    context: dict,
    form: forms.Form,
    form_kwargs: dict,
    conflict: EditConflict,
    values_of: Callable[[object], dict[str, object]],
) -> HttpResponse:
    """Refuse a stale save: show both versions side by side and let the user decide.

    A three-way comparison with the version the user started from (read from the history) decides
    what the re-presented form holds: a field only the other person changed takes their value, a field
    only this user changed keeps theirs, a field both changed keeps this user's value and is flagged.
    The form now carries the version saved in the meantime, so saving it is a deliberate second step
    taken with both versions in view — nobody's edit is silently lost.

    ``values_of(record)`` gives a record's values keyed by form field name; it is also called with the
    history row of the starting version (which has the model's fields but not its related records).
    """
    current = conflict.current
    theirs = values_of(current)
    start = current.history.filter(version=conflict.expected_version).order_by("-history_id").first()
    base = values_of(start) if start is not None else {}
    data = form.data.copy()
    data["version"] = str(current.version)
    rows = []
    for name, saved in theirs.items():
        field = form.fields[name]
        mine = form.cleaned_data.get(name)
        if _same(mine, saved):
            state = "same"
        elif name in base and _same(mine, base[name]):
            state = "theirs"
            posted = _as_post(field, saved)
            if posted is None:
                data.pop(name, None)
            else:
                data[name] = posted
        elif name in base and _same(saved, base[name]):
            state = "yours"
        else:
            state = "both"
        rows.append({"label": field.label or name, "saved": shown(field, saved), "yours": shown(field, mine),
                     "state": state, "note": MERGE_NOTES[state]})
    latest = current.history.order_by("-history_id").select_related("history_user").first()
    merged = type(form)(data, **form_kwargs)
    merged.is_valid()
    return render(
        request,
        template,
        {
            **context,
            "form": merged,
            "conflict": {
                "rows": rows,
                "by": latest.history_user.get_username() if latest and latest.history_user_id else "someone else",
                "at": latest.history_date if latest else None,
                "version": current.version,
            },
        },
        status=409,
    )
