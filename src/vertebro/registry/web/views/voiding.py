"""Voiding a record entered in error, and restoring it (issue 13). The rules live in
``services.voiding``; these views only ask for the reason and show the refusal beside it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ....domain.errors import DomainError
from ...models import FollowUp, Fracture, PainAssessment, Procedure
from ...services import voiding
from ...services.records import EditConflict
from ..forms.base import VersionedForm, add_service_error
from ..permissions import access_for, visible_or_404
from .common import form_data

#: kind in the address → (model, label, void service, restore service, patient-page anchor prefix)
KINDS = {
    "fracture": (Fracture, "fracture", voiding.fracture_void, voiding.fracture_restore, "fracture"),
    "procedure": (Procedure, "procedure", voiding.procedure_void, voiding.procedure_restore, "procedure"),
    "follow-up": (FollowUp, "follow-up", voiding.follow_up_void, voiding.follow_up_restore, "follow-up"),
    "pain": (PainAssessment, "pain score", voiding.pain_assessment_void, voiding.pain_assessment_restore, "pain"),
}


class VoidForm(VersionedForm):
    reason = forms.CharField(
        label="Reason for voiding",
        help_text="For example: entered twice, wrong patient, score belongs to another visit.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Voiding needs a reason: say why this record was entered in error."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Voiding needs a reason: say why this record was entered in error.")
        return reason


class RestoreForm(VersionedForm):
    reason = forms.CharField(
        label="Reason for restoring (optional)", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


def _record(request: HttpRequest, kind: str, pk: int):  # noqa: ANN202
    if kind not in KINDS:
        raise Http404("No such kind of record.")
    model = KINDS[kind][0]
    return visible_or_404(request, model.objects.select_related("patient__site"), site_field="patient__site_id", pk=pk)


def _back(record) -> str:  # noqa: ANN001
    return reverse("web:patient", kwargs={"pk": record.patient_id})


@require_http_methods(["GET", "POST"])
def void_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    record = _record(request, kind, pk)
    _model, label, void, _restore, _anchor = KINDS[kind]
    if not access_for(request).can_edit(record.patient.site_id):
        raise PermissionDenied("Your role at this site does not allow voiding records.")
    if record.is_voided:
        messages.info(request, f"This {label} is already voided.")
        return redirect(_back(record))
    form = VoidForm(form_data(request), initial={"version": record.version})
    if request.method == "POST" and form.is_valid():
        try:
            void(record=record, user=request.user, reason=form.cleaned_data["reason"], version=form.cleaned_data["version"])
        except EditConflict:
            form.add_error(None, f"Someone changed this {label} since you opened it; reload the patient page and try again.")
        except (DomainError, ValidationError, voiding.VoidNotAllowed) as error:
            add_service_error(form, error, {"void_reason": "reason"})
        else:
            messages.success(request, f"The {label} is voided: it stays in the history and no longer counts in analysis, exports or the worklist.")
            return redirect(_back(record))
    context = {"form": form, "patient": record.patient, "record": record, "label": label, "restoring": False}
    return render(request, "web/void_form.html", context)


@require_http_methods(["GET", "POST"])
def restore_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    record = _record(request, kind, pk)
    _model, label, _void, restore, _anchor = KINDS[kind]
    if not access_for(request).can_override(record.patient.site_id):
        raise PermissionDenied("Only an investigator or an administrator of this site may restore a voided record.")
    if not record.is_voided:
        messages.info(request, f"This {label} is not voided: there is nothing to restore.")
        return redirect(_back(record))
    form = RestoreForm(form_data(request), initial={"version": record.version})
    if request.method == "POST" and form.is_valid():
        try:
            restore(record=record, user=request.user, reason=form.cleaned_data["reason"], version=form.cleaned_data["version"])
        except EditConflict:
            form.add_error(None, f"Someone changed this {label} since you opened it; reload the patient page and try again.")
        except (DomainError, ValidationError, voiding.VoidNotAllowed) as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The {label} is restored and counts again.")
            return redirect(_back(record))
    context = {"form": form, "patient": record.patient, "record": record, "label": label, "restoring": True}
    return render(request, "web/void_form.html", context)
