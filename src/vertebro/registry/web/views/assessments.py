"""Pain scores and follow-up visits. The worklist's one-click form posts to :func:`pain_new`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ....domain.errors import DomainError
from ....domain.timepoints import BY_CODE, UNSCHEDULED
from ...models import FollowUp, PainAssessment, Procedure
from ...services.capture import follow_up_with_score_record
from ...services.clinical import pain_assessment_record
from ..forms.assessments import FollowUpEditForm, FollowUpWithScoreForm, PainEditForm, PainForm, timepoint_label
from ..forms.base import add_service_error
from ..permissions import require_edit, visible_or_404
from .common import attributes, form_data, next_url, save_edit, today

FOLLOW_UP_FIELDS = ("seen_on", "venue", "recurrent_pain", "new_fracture_level", "further_procedure", "analgesics")
DUPLICATE_SCORE = "This procedure already has a score at that timepoint. Open it from the patient page to correct it."


def _procedure(request: HttpRequest, pk: int) -> Procedure:
    procedure = visible_or_404(request, Procedure.objects.select_related("patient__site"), site_field="patient__site_id", pk=pk)
    require_edit(request, procedure.patient.site_id)
    return procedure


def _anchor(patient_pk: int, anchor: str) -> str:
    return reverse("web:patient", kwargs={"pk": patient_pk}) + f"#{anchor}"


@require_http_methods(["GET", "POST"])
def pain_new(request: HttpRequest, procedure_pk: int) -> HttpResponse:
    procedure = _procedure(request, procedure_pk)
    asked = request.GET.get("timepoint") if request.GET.get("timepoint") in BY_CODE else None
    initial = {"instrument": "vps", "timepoint": asked or ""}
    window = BY_CODE.get(asked) if asked else None
    if window is None or window.opens_on(procedure.performed_on) <= today() <= window.closes_on(procedure.performed_on):
        initial["assessed_on"] = today()
    form = PainForm(form_data(request), initial=initial, procedure=procedure)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assessment = pain_assessment_record(
                procedure=procedure,
                assessed_on=data["assessed_on"],
                score=data["score"],
                instrument=data["instrument"],
                timepoint=data["derived_timepoint"],  # the form derived it from the windows (asking on day 0)
                venue=data["venue"] or None,
                user=request.user,
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error, {"timepoint": "assessed_on", "score": "score"})
        except IntegrityError:
            form.add_error("assessed_on", DUPLICATE_SCORE)
        else:
            messages.success(
                request,
                f"{timepoint_label(assessment.timepoint)} pain score {assessment.score:g} recorded for {procedure.patient.study_id}.",
            )
            return redirect(next_url(request, _anchor(procedure.patient_id, f"pain-{assessment.pk}")))
    return render(
        request,
        "web/pain_form.html",
        {"form": form, "patient": procedure.patient, "procedure": procedure, "assessment": None,
         "asked_label": timepoint_label(asked) if asked else None, "next": next_url(request, "")},
    )


def _pain_form_values(record) -> dict:  # noqa: ANN001
    # A 100 mm VAS is stored divided by 10; the form speaks millimetres again.
    return {
        "assessed_on": record.assessed_on,
        "score": record.score * 10 if record.instrument == "vas100" else record.score,
        "instrument": record.instrument,
        "venue": record.venue or "",
    }


@require_http_methods(["GET", "POST"])
def pain_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = visible_or_404(
        request, PainAssessment.objects.select_related("procedure__patient__site"), site_field="patient__site_id", pk=pk
    )
    procedure = assessment.procedure
    require_edit(request, procedure.patient.site_id)
    initial = _pain_form_values(assessment) | {
        "procedure_day": {"baseline": "before", "post": "after"}.get(assessment.timepoint, ""),
        "version": assessment.version,
    }
    form = PainEditForm(form_data(request), initial=initial, procedure=procedure)
    context = {"form": form, "patient": procedure.patient, "procedure": procedure, "assessment": assessment, "next": ""}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        score = data["score"] / 10 if data["instrument"] == "vas100" else data["score"]
        changes = {
            "assessed_on": data["assessed_on"],
            "score": score,
            "instrument": data["instrument"],
            "venue": data["venue"] or None,
            "timepoint": data["derived_timepoint"],
        }
        taken = (
            data["derived_timepoint"] != UNSCHEDULED
            and procedure.pain_assessments.filter(timepoint=data["derived_timepoint"]).exclude(pk=assessment.pk).exists()
        )
        if taken:
            form.add_error("assessed_on", DUPLICATE_SCORE)
            return render(request, "web/pain_form.html", context)
        return save_edit(
            request, form=form, record=assessment, changes=changes, values_of=_pain_form_values,
            template="web/pain_form.html", context=context, form_kwargs={"procedure": procedure},
            error_fields={"timepoint": "assessed_on"}, saved="Pain score saved.",
            redirect_to=_anchor(procedure.patient_id, f"pain-{assessment.pk}"),
        )
    return render(request, "web/pain_form.html", context)


def _follow_up_values(data: dict) -> dict:
    values = {name: data.get(name) for name in FOLLOW_UP_FIELDS}
    values["new_fracture_level"] = values["new_fracture_level"] or None
    values["analgesics"] = values["analgesics"] or None
    return values


@require_http_methods(["GET", "POST"])
def follow_up_new(request: HttpRequest, procedure_pk: int) -> HttpResponse:
    procedure = _procedure(request, procedure_pk)
    form = FollowUpWithScoreForm(form_data(request), initial={"seen_on": today(), "recurrent_pain": "no", "further_procedure": "no"}, procedure=procedure)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = follow_up_with_score_record(
                procedure=procedure,
                follow_up=_follow_up_values(data),
                score=data.get("score"),
                score_timepoint=data.get("score_timepoint"),
                user=request.user,
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error, {"timepoint": "score", "assessed_on": "seen_on"})
        except IntegrityError:
            form.add_error("score", DUPLICATE_SCORE)
        else:
            messages.success(request, "Follow-up recorded.")
            return redirect(_anchor(procedure.patient_id, f"follow-up-{visit.pk}"))
    return render(request, "web/follow_up_form.html", {"form": form, "patient": procedure.patient, "procedure": procedure, "follow_up": None})


@require_http_methods(["GET", "POST"])
def follow_up_edit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visible_or_404(request, FollowUp.objects.select_related("procedure__patient__site"), site_field="patient__site_id", pk=pk)
    procedure = visit.procedure
    require_edit(request, procedure.patient.site_id)
    initial = {name: getattr(visit, name) for name in FOLLOW_UP_FIELDS} | {"version": visit.version}
    for name in ("recurrent_pain", "further_procedure"):
        initial[name] = "yes" if initial[name] else "no"
    form = FollowUpEditForm(form_data(request), initial=initial, procedure=procedure)
    context = {"form": form, "patient": procedure.patient, "procedure": procedure, "follow_up": visit}
    if request.method == "POST" and form.is_valid():
        values = _follow_up_values(form.cleaned_data)
        values["new_fracture"] = values["new_fracture_level"] is not None
        return save_edit(
            request, form=form, record=visit, changes=values, values_of=attributes(FOLLOW_UP_FIELDS),
            template="web/follow_up_form.html", context=context, form_kwargs={"procedure": procedure},
            saved="Follow-up saved.", redirect_to=_anchor(procedure.patient_id, f"follow-up-{visit.pk}"),
        )
    return render(request, "web/follow_up_form.html", context)
