"""Patients: the list with search and filters, the patient page, new patient, edit, and history.

A search may be a name, so it never travels in the URL (where it would land in browser history and
server logs): the form POSTs it, the session keeps it, and the list URL only says ``search=1``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from ....domain.errors import DomainError
from ....domain.timepoints import SCHEDULE
from ....domain.vocabulary import ETIOLOGY
from ...models import Patient, Site
from ...selectors.history import patient_history
from ...selectors.invitations import patient_invitations
from ...selectors.patients import patient_list_count, patient_list_queryset, patient_overview, patient_rows
from ...services.clinical import STUDY_ID_TAKEN, patient_create, patient_update
from ..charts import Series, line_chart
from ..forms.base import add_service_error, sentence
from ..forms.patients import PatientEditForm, PatientForm
from ..paging import ListPage, last_page, page_number
from ..permissions import access_for, require_any_edit, require_edit, visible_or_404
from .common import form_data, save_edit, value_display

PAGE_SIZE = 50
SEARCH_SESSION_KEY = "vertebro_patient_search"
PATIENT_FIELDS = ("study_id", "sex", "birth_date", "age_at_index", "mrn", "name")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
def patient_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    if request.method == "POST":
        search = request.POST.get("q", "").strip()[:100]
        request.session[SEARCH_SESSION_KEY] = search
        params = {k: request.POST[k] for k in ("site", "etiology") if request.POST.get(k)}
        if search:
            params["search"] = "1"
        return redirect(reverse("web:patients") + (f"?{urlencode(params)}" if params else ""))

    search = request.session.get(SEARCH_SESSION_KEY, "") if request.GET.get("search") == "1" else ""
    site_id = _int_or_none(request.GET.get("site"))
    if site_id not in access.site_ids:
        site_id = None
    etiology = request.GET.get("etiology") if request.GET.get("etiology") in ETIOLOGY.codes else None
    patients = patient_list_queryset(
        site_ids=access.site_ids, phi_site_ids=access.phi_site_ids, search=search, site_id=site_id, etiology=etiology
    )
    number = page_number(request.GET.get("page"))
    if search:
        found = list(patients[(number - 1) * PAGE_SIZE : number * PAGE_SIZE + 1])
        total, more = None, len(found) > PAGE_SIZE
    else:
        total = patient_list_count(patients=patients, key=f"{'.'.join(map(str, access.site_ids))}-{site_id}-{etiology}")
        number = min(number, last_page(total, PAGE_SIZE))
        found = list(patients[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
        more = number < last_page(total, PAGE_SIZE)
    page = ListPage(found[:PAGE_SIZE], number, PAGE_SIZE, total, more)
    rows = patient_rows(page.object_list)
    return render(
        request,
        "web/patients.html",
        {
            "page": page,
            "rows": [(row, access.sees_phi(row.patient.site_id)) for row in rows],
            "search": search,
            "site_id": site_id,
            "etiology": etiology,
            "etiologies": ETIOLOGY.choices(),
            "names_searchable": access.sees_phi_anywhere,
        },
    )


def _patient_pain_chart(overview) -> str | None:  # noqa: ANN001
    series = []
    for number, procedure in enumerate(overview.procedures, start=1):
        if procedure.is_voided:
            continue
        by_timepoint = {a.timepoint: a.score for a in procedure.pain_assessments.all() if not a.is_voided}
        if by_timepoint.keys() - {"unscheduled"}:
            name = "Procedure" if len(overview.procedures) == 1 else f"Procedure {number}"
            series.append(Series(name, f"s-{min(number, 3)}", [by_timepoint.get(tp.code) for tp in SCHEDULE]))
    if not series:
        return None
    return line_chart(title="Pain score by timepoint", x_labels=[tp.label for tp in SCHEDULE], series=series, y_label="Pain (0–10)")


@require_GET
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site", "contact_consent_by"), site_field="site_id", pk=pk)
    access = access_for(request)
    overview = patient_overview(patient=patient)
    index_on = overview.index_procedure.performed_on if overview.index_procedure else None
    return render(
        request,
        "web/patient.html",
        {
            "patient": patient,
            "o": overview,
            "display": value_display(request, patient, index_on),
            "can_edit": access.can_edit(patient.site_id),
            "can_override": access.can_override(patient.site_id),
            "pain_chart": _patient_pain_chart(overview),
            "invitations": patient_invitations(patient_id=patient.pk),
        },
    )


def _edit_sites(request: HttpRequest) -> list[tuple[int, str]]:
    access = access_for(request)
    return [(m.site_id, m.site_code) for m in access.memberships if m.site_id in access.edit_site_ids]


def _patient_form_values(record) -> dict:  # noqa: ANN001
    return {name: getattr(record, name) for name in PATIENT_FIELDS} | {"site": record.site_id}


def _patient_values(data: dict) -> dict:
    return {name: data.get(name) for name in PATIENT_FIELDS} | {"site_id": data["site"]}


@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    require_any_edit(request)
    sites = _edit_sites(request)
    form = PatientForm(form_data(request), sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        require_edit(request, data["site"])
        try:
            patient = patient_create(
                study_id=data["study_id"],
                site=Site.objects.get(pk=data["site"]),
                sex=data["sex"],
                birth_date=data["birth_date"],
                age_at_index=data["age_at_index"],
                mrn=data["mrn"],
                name=data["name"],
                user=request.user,
            )
        except (DomainError, ValidationError) as error:
            add_service_error(form, error)
        except IntegrityError:  # registered by someone else since the check
            form.add_error("study_id", sentence(STUDY_ID_TAKEN))
        else:
            messages.success(request, f"Patient {patient.study_id} registered. Next: record the fracture and the eligibility checklist.")
            return redirect("web:patient", pk=patient.pk)
    return render(request, "web/patient_form.html", {"form": form, "patient": None})


@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=pk)
    require_edit(request, patient.site_id)
    sites = _edit_sites(request)
    initial = _patient_form_values(patient) | {"version": patient.version}
    form = PatientEditForm(form_data(request), initial=initial, sites=sites)
    context = {"form": form, "patient": patient}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        require_edit(request, data["site"])
        return save_edit(
            request, form=form, record=patient, changes=_patient_values(data), values_of=_patient_form_values,
            template="web/patient_form.html", context=context, form_kwargs={"sites": sites},
            error_fields={"site_id": "site"}, saved="Patient details saved.",
            redirect_to=reverse("web:patient", kwargs={"pk": patient.pk}), update=patient_update,
        )
    return render(request, "web/patient_form.html", context)


@require_GET
def patient_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=pk)
    index = patient.procedures.order_by("performed_on").values_list("performed_on", flat=True).first()
    display = value_display(request, patient, index)
    return render(
        request,
        "web/history.html",
        {
            "patient": patient,
            "entries": patient_history(patient=patient, display=display),
            "record_label": None,
            "deidentified": display.deidentify,
        },
    )
