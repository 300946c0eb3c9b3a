"""Procedures (levels, cement, approach, biopsy, complications) and complications on their own.

The procedure form opens only after an eligibility checklist; an absolute contraindication keeps it
closed until an investigator overrides it with a reason (the service refuses the write as well).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ....domain.errors import DomainError
from ...models import Complication, EligibilityAssessment, Patient, Procedure
from ...services.capture import procedure_update, procedure_with_complications_create
from ...services.clinical import EligibilityBlocked, complication_create
from ...services.records import EditConflict
from ..forms.base import add_service_error
from ..forms.procedures import (
    PROCEDURE_FIELDS, ComplicationEditForm, ComplicationForm, ComplicationFormSet, ProcedureEditForm, ProcedureForm, procedure_values,
)
from ..permissions import access_for, require_edit, visible_or_404
from .common import NOTHING_SAVED, attributes, form_data, render_conflict, save_edit

COMPLICATION_FIELDS = ("kind", "leak_route", "symptomatic", "noted_on", "notes")


def _complication_values(data: dict) -> dict:
    values = {name: data.get(name) for name in COMPLICATION_FIELDS}
    values["leak_route"] = values["leak_route"] or None
    values["notes"] = values["notes"] or ""
    return values


def _latest_checklist(patient: Patient) -> EligibilityAssessment | None:
    return EligibilityAssessment.objects.filter(patient=patient).select_related("overridden_by").order_by("-assessed_on", "-id").first()


def _anchor(patient_pk: int, anchor: str) -> str:
    return reverse("web:patient", kwargs={"pk": patient_pk}) + f"#{anchor}"


@require_http_methods(["GET", "POST"])
def procedure_new(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=patient_pk)
    require_edit(request, patient.site_id)
    eligibility = _latest_checklist(patient)
    context = {
        "patient": patient,
        "eligibility": eligibility,
        "can_override": access_for(request).can_override(patient.site_id),
        "procedure": None,
    }
    if eligibility is None or eligibility.blocked:
        # Nothing to fill in yet: say why, and what unblocks it.
        return render(request, "web/procedure_blocked.html", context, status=200 if request.method == "GET" else 409)
    fractures = list(patient.fractures.order_by("id"))
    data = form_data(request)
    form = ProcedureForm(data, fractures=fractures)
    formset = ComplicationFormSet(data, prefix="comp")
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        complications = [_complication_values(row.cleaned_data) for row in formset.forms if row.cleaned_data.get("kind")]
        try:
            procedure = procedure_with_complications_create(
                patient=patient,
                procedure=procedure_values(form.cleaned_data),
                treated=form.cleaned_data["treated"],
                complications=complications,
                user=request.user,
            )
        except EligibilityBlocked as error:
            form.add_error(None, str(error))
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Procedure recorded. Next: the baseline pain score, if not yet recorded.")
            return redirect(_anchor(patient.pk, f"procedure-{procedure.pk}"))
    return render(request, "web/procedure_form.html", {**context, "form": form, "formset": formset})


@require_http_methods(["GET", "POST"])
def procedure_edit(request: HttpRequest, pk: int) -> HttpResponse:
    procedure = visible_or_404(request, Procedure.objects.select_related("patient__site"), site_field="patient__site_id", pk=pk)
    patient = procedure.patient
    require_edit(request, patient.site_id)
    fractures = list(patient.fractures.order_by("id"))
    levels = {level.fracture_id: level.cement_ml for level in procedure.treated_levels.all()}
    initial = {name: getattr(procedure, name) for name in PROCEDURE_FIELDS} | {"version": procedure.version}
    initial["biopsy_taken"] = "yes" if procedure.biopsy_taken else "no"
    for fracture in fractures:
        initial[f"treat_{fracture.pk}"] = fracture.pk in levels
        initial[f"cement_{fracture.pk}"] = levels.get(fracture.pk)
    form = ProcedureEditForm(form_data(request), initial=initial, fractures=fractures)
    eligibility = _latest_checklist(patient)
    context = {"form": form, "patient": patient, "procedure": procedure, "eligibility": eligibility}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = procedure_update(
                procedure=procedure, expected_version=data["version"], changes=procedure_values(data), treated=data["treated"], user=request.user
            )
        except EditConflict as conflict:

            def values_of(record) -> dict:  # noqa: ANN001
                values = {name: getattr(record, name) for name in PROCEDURE_FIELDS}
                # The history row of the starting version carries no levels (they are rows of their own,
                # written around it): levels then compare as changed by both, the user's kept and flagged.
                if isinstance(record, Procedure):
                    saved_levels = {level.fracture_id: level.cement_ml for level in record.treated_levels.all()}
                    for fracture in fractures:
                        values[f"treat_{fracture.pk}"] = fracture.pk in saved_levels
                        values[f"cement_{fracture.pk}"] = saved_levels.get(fracture.pk)
                return values

            return render_conflict(
                request, template="web/procedure_form.html", context=context, form=form,
                form_kwargs={"fractures": fractures}, conflict=conflict, values_of=values_of,
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Procedure saved." if saved.version > data["version"] else NOTHING_SAVED)
            return redirect(_anchor(patient.pk, f"procedure-{procedure.pk}"))
    return render(request, "web/procedure_form.html", context)


@require_http_methods(["GET", "POST"])
def complication_new(request: HttpRequest, procedure_pk: int) -> HttpResponse:
    procedure = visible_or_404(request, Procedure.objects.select_related("patient__site"), site_field="patient__site_id", pk=procedure_pk)
    require_edit(request, procedure.patient.site_id)
    form = ComplicationForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            complication = complication_create(procedure=procedure, user=request.user, **_complication_values(form.cleaned_data))
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Complication recorded.")
            return redirect(_anchor(procedure.patient_id, f"complication-{complication.pk}"))
    return render(request, "web/complication_form.html", {"form": form, "patient": procedure.patient, "procedure": procedure, "complication": None})


@require_http_methods(["GET", "POST"])
def complication_edit(request: HttpRequest, pk: int) -> HttpResponse:
    complication = visible_or_404(
        request, Complication.objects.select_related("procedure__patient__site"), site_field="procedure__patient__site_id", pk=pk
    )
    procedure = complication.procedure
    require_edit(request, procedure.patient.site_id)
    initial = {name: getattr(complication, name) for name in COMPLICATION_FIELDS} | {"version": complication.version}
    form = ComplicationEditForm(form_data(request), initial=initial)
    context = {"form": form, "patient": procedure.patient, "procedure": procedure, "complication": complication}
    if request.method == "POST" and form.is_valid():
        return save_edit(
            request, form=form, record=complication, changes=_complication_values(form.cleaned_data),
            values_of=attributes(COMPLICATION_FIELDS), template="web/complication_form.html", context=context,
            saved="Complication saved.", redirect_to=_anchor(procedure.patient_id, f"complication-{complication.pk}"),
        )
    return render(request, "web/complication_form.html", context)
