"""Contact consent and addresses of a patient, recorded by staff who may see identifiers (issue 9).

The same service as ``vertebro invitations contact``; the recorder is the signed-in user."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ....domain.errors import DomainError
from ...models import Patient
from ...services.invitations import patient_contact_record
from ...services.records import EditConflict
from ..forms.base import add_service_error
from ..forms.contact import ContactForm
from ..permissions import access_for, require_edit, visible_or_404
from .common import form_data

CHANGED_MEANWHILE = "Someone saved this patient since you opened the form: nothing was saved; check the patient page, then save this form again."


def _initial(patient: Patient) -> dict:
    return {
        "version": patient.version, "consent": "yes" if patient.contact_consent_on else "no",
        "consent_on": patient.contact_consent_on, "email": patient.email or "", "mobile": patient.mobile or "",
        "opted_out": patient.contact_opted_out_at is not None,
    }


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_or_404(request, Patient.objects.select_related("site"), site_field="site_id", pk=pk)
    require_edit(request, patient.site_id)
    if not access_for(request).sees_phi(patient.site_id):  # addresses are identifiers
        raise PermissionDenied
    form = ContactForm(form_data(request), initial=_initial(patient))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient_contact_record(
                patient=patient, consent_on=data["consent_on"] if data["consent"] else None, email=data["email"],
                mobile=data["mobile"].strip(), opted_out=data["opted_out"], user=request.user, expected_version=data["version"],
            )
        except EditConflict:
            patient.refresh_from_db()
            data = form.data.copy()  # the user's entries, now against the saved version: a deliberate second save
            data["version"] = str(patient.version)
            form = ContactForm(data, initial=_initial(patient))
            form.is_valid()
            form.add_error(None, CHANGED_MEANWHILE)
        except (DomainError, ValidationError) as error:
            add_service_error(form, error, {"contact_consent_on": "consent_on"})
        else:
            messages.success(request, "Contact and consent saved.")
            return redirect("web:patient", pk=patient.pk)
    return render(request, "web/contact_form.html", {"form": form, "patient": patient})
