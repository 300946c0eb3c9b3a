"""One record's history (the patient page links here for every record; the patient's whole history is
``patients.patient_history_view``). Read-only: this view has no form and accepts only GET."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ...models import Patient
from ...selectors.history import KIND_LABELS, RECORD_KINDS, history_patient_id, record_history
from ..permissions import visible_or_404
from .common import value_display


@require_GET
def record_history_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    if kind not in RECORD_KINDS:
        raise Http404("No such kind of record.")
    patient_id = history_patient_id(kind=kind, record_id=pk)
    if patient_id is None:
        raise Http404("No such record.")
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=patient_id)
    index = patient.procedures.order_by("performed_on").values_list("performed_on", flat=True).first()
    display = value_display(request, patient, index)
    entries = record_history(kind=kind, record_id=pk, display=display)
    return render(
        request,
        "web/history.html",
        {"patient": patient, "entries": entries, "record_label": f"{KIND_LABELS[kind]} #{pk}", "deidentified": display.deidentify},
    )
