"""Fractures and the eligibility checklist at intake (with the investigator's override)."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ....domain.eligibility import assess_eligibility
from ....domain.errors import DomainError
from ...models import EligibilityAssessment, Fracture, Patient
from ...services.capture import eligibility_override_checked
from ...services.clinical import eligibility_record, fracture_create, fracture_update
from ...services.records import EditConflict
from ..forms.base import add_service_error
from ..forms.patients import EligibilityForm, FractureEditForm, FractureForm, OverrideForm
from ..permissions import require_edit, require_override, visible_or_404
from .common import attributes, form_data, render_conflict, save_edit, today

FRACTURE_FIELDS = (
    "level", "etiology", "pathologic_cause", "pathologic_basis", "primary_site", "onset_date", "mri_oedema", "height_loss_pct",
)


def _fracture_values(data: dict) -> dict:
    values = {name: data.get(name) for name in FRACTURE_FIELDS}
    for name in ("level", "pathologic_cause", "pathologic_basis"):
        values[name] = values[name] or None
    values["primary_site"] = values["primary_site"] or ""
    return values


def _patient_anchor(patient_pk: int, anchor: str) -> str:
    return reverse("web:patient", kwargs={"pk": patient_pk}) + f"#{anchor}"


@require_http_methods(["GET", "POST"])
def fracture_new(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=patient_pk)
    require_edit(request, patient.site_id)
    form = FractureForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            fracture = fracture_create(
                patient=patient, same_level_confirmed=form.cleaned_data["same_level_confirmed"], user=request.user, **_fracture_values(form.cleaned_data)
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Fracture at {fracture.level or 'an unrecorded level'} recorded.")
            return redirect(_patient_anchor(patient.pk, f"fracture-{fracture.pk}"))
    return render(request, "web/fracture_form.html", {"form": form, "patient": patient, "fracture": None})


@require_http_methods(["GET", "POST"])
def fracture_edit(request: HttpRequest, pk: int) -> HttpResponse:
    fracture = visible_or_404(request, Fracture.objects.select_related("patient__site"), site_field="patient__site_id", pk=pk)
    patient = fracture.patient
    require_edit(request, patient.site_id)
    initial = {name: getattr(fracture, name) for name in FRACTURE_FIELDS} | {"version": fracture.version}
    initial["mri_oedema"] = {True: "yes", False: "no", None: ""}[fracture.mri_oedema]
    form = FractureEditForm(form_data(request), initial=initial)
    context = {"form": form, "patient": patient, "fracture": fracture}
    if request.method == "POST" and form.is_valid():
        return save_edit(
            request, form=form, record=fracture, changes=_fracture_values(form.cleaned_data), values_of=attributes(FRACTURE_FIELDS),
            template="web/fracture_form.html", context=context, saved="Fracture saved.",
            redirect_to=_patient_anchor(patient.pk, f"fracture-{fracture.pk}"),
            update=partial(fracture_update, same_level_confirmed=form.cleaned_data["same_level_confirmed"]),
        )
    return render(request, "web/fracture_form.html", context)


@require_http_methods(["GET", "POST"])
def eligibility_new(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=patient_pk)
    require_edit(request, patient.site_id)
    form = EligibilityForm(form_data(request), initial={"assessed_on": today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assessment = eligibility_record(
                patient=patient, assessed_on=data["assessed_on"], indications=data["indications"],
                absolute=data["absolute"], relative=data["relative"], user=request.user,
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        else:
            verdict = assess_eligibility(indications=data["indications"], absolute=data["absolute"], relative=data["relative"])
            if verdict.blocked:
                messages.warning(request, "Checklist saved. An absolute contraindication is recorded: no procedure can be recorded until an investigator overrides it with a reason.")
            else:
                messages.success(request, "Checklist saved. " + " ".join(verdict.reasons + verdict.cautions))
            return redirect(_patient_anchor(patient.pk, f"eligibility-{assessment.pk}"))
    return render(request, "web/eligibility_form.html", {"form": form, "patient": patient})


@require_http_methods(["GET", "POST"])
def eligibility_override_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = visible_or_404(
        request, EligibilityAssessment.objects.select_related("patient__site", "assessed_by"), site_field="patient__site_id", pk=pk
    )
    patient = assessment.patient
    require_override(request, patient.site_id)
    if not assessment.blocked:
        messages.info(request, "This checklist blocks nothing: there is nothing to override.")
        return redirect(_patient_anchor(patient.pk, f"eligibility-{assessment.pk}"))
    form = OverrideForm(form_data(request), initial={"version": assessment.version})
    context = {"form": form, "patient": patient, "assessment": assessment}
    if request.method == "POST" and form.is_valid():
        try:
            eligibility_override_checked(
                assessment=assessment, expected_version=form.cleaned_data["version"], reason=form.cleaned_data["reason"], user=request.user
            )
        except EditConflict as conflict:
            return render_conflict(
                request, template="web/override_form.html", context=context, form=form, form_kwargs={}, conflict=conflict,
                values_of=lambda record: {"reason": record.override_reason},
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error, {"override_reason": "reason"})
        else:
            messages.success(request, "Override recorded with your reason. The procedure may now be recorded.")
            return redirect(_patient_anchor(patient.pk, f"eligibility-{assessment.pk}"))
    return render(request, "web/override_form.html", context)
