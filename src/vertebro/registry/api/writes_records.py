"""API writes of patients and procedures, on the rules of :mod:`.writes`: the web forms validate, the
web views' services save (crediting the token user), other site 404, read-only role 403, stale
``version`` 409. Identifiers (MRN, name, date of birth) are written only by roles that see them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.response import Response

from ...domain.errors import DomainError
from ..models import Patient, Procedure, Site
from ..services.capture import procedure_update, procedure_with_complications_create
from ..services.clinical import STUDY_ID_TAKEN, EligibilityBlocked, patient_create, patient_update
from ..services.records import EditConflict
from ..web.forms.base import sentence
from ..web.forms.patients import PatientEditForm, PatientForm
from ..web.forms.procedures import PROCEDURE_FIELDS, ProcedureEditForm, ProcedureForm, procedure_values
from ..web.permissions import Access, access_of_user
from ..web.views.common import update_if_changed
from . import serializers
from .writes import FORBIDDEN, WRITE_ERRORS, Refused, conflict_response, form_errors, form_input, json_body, service_refusal

PATIENT_FIELDS = ("study_id", "sex", "birth_date", "age_at_index", "mrn", "name")
IDENTIFIERS = ("mrn", "name", "birth_date")
PROCEDURE_IDENTIFIERS = ("performed_on", "operator")


def _refuse(detail: str, code: int) -> Refused:
    return Refused(Response({"detail": detail}, status=code))


def _check_identifiers_allowed(access: Access, site_id: int, body: dict, names: tuple[str, ...] = IDENTIFIERS) -> None:
    if any(name in body for name in names) and not access.sees_phi(site_id):
        raise _refuse(f"Your role at this site does not see identifiers, so it cannot write them ({', '.join(names)}).", status.HTTP_403_FORBIDDEN)


def _edit_sites(access: Access) -> list[tuple[int, str]]:
    return [(m.site_id, m.site_code) for m in access.memberships if m.site_id in access.edit_site_ids]


def _shown_patient(request, pk: int) -> dict:  # noqa: ANN001
    from ..selectors.patients import patient_rows

    patient = Patient.objects.select_related("site").get(pk=pk)
    row = patient_rows([patient])[0]
    patient.age, patient.etiology = row.age, row.group
    return serializers.PatientSerializer(patient, context={"access": access_of_user(request.user)}).data


class PatientWriteSerializer(drf.Serializer):
    """A patient as the API takes it (the schema only: the web form validates). ``site`` is a site code."""

    version = drf.IntegerField(min_value=1, required=False, help_text="Required on PATCH: the version you read.")
    study_id = drf.CharField(required=False, help_text="Required on POST.")
    site = drf.CharField(required=False, help_text="A site code; required on POST.")
    sex = drf.CharField(required=False)
    birth_date = drf.DateField(required=False, allow_null=True)
    age_at_index = drf.IntegerField(required=False, allow_null=True)
    mrn = drf.CharField(required=False, allow_blank=True)
    name = drf.CharField(required=False, allow_blank=True)


def _site_of_code(access: Access, code: object) -> int:
    """The id of site ``code`` if the caller belongs to it (else 404) and may record there (else 403)."""
    site_id = Site.objects.filter(code=code, pk__in=access.site_ids).values_list("pk", flat=True).first() if isinstance(code, str) else None
    if site_id is None:
        raise Http404
    if not access.can_edit(site_id):
        raise _refuse(FORBIDDEN, status.HTTP_403_FORBIDDEN)
    return site_id


def _patient_values(data: dict) -> dict:
    return {name: data.get(name) for name in PATIENT_FIELDS} | {"site_id": data["site"]}


def patient_create_from_api(request) -> Response:  # noqa: ANN001
    """POST /patients/: register a patient at one of your sites."""
    access = access_of_user(request.user)
    try:
        body = json_body(request)
        site_id = _site_of_code(access, body.get("site"))
        _check_identifiers_allowed(access, site_id, body)
    except Refused as refused:
        return refused.response
    form = PatientForm(form_input(body | {"site": site_id}), sites=_edit_sites(access))
    if not form.is_valid():
        return form_errors(form)
    data = form.cleaned_data
    try:
        patient = patient_create(
            study_id=data["study_id"], site=Site.objects.get(pk=site_id), sex=data["sex"], birth_date=data["birth_date"],
            age_at_index=data["age_at_index"], mrn=data["mrn"], name=data["name"], user=request.user,
        )
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {})
    except IntegrityError:
        return Response({"study_id": [sentence(STUDY_ID_TAKEN)]}, status=status.HTTP_400_BAD_REQUEST)
    return Response(_shown_patient(request, patient.pk), status=status.HTTP_201_CREATED)


def patient_patch(request, patient: Patient) -> Response:  # noqa: ANN001
    """PATCH /patients/<id>/ (the patient is already scoped to the caller's sites)."""
    access = access_of_user(request.user)
    if not access.can_edit(patient.site_id):
        return Response({"detail": FORBIDDEN}, status=status.HTTP_403_FORBIDDEN)
    try:
        body = json_body(request)
        _check_identifiers_allowed(access, patient.site_id, body)
        site_id = _site_of_code(access, body["site"]) if "site" in body else patient.site_id
    except Refused as refused:
        return refused.response
    current = {name: getattr(patient, name) for name in PATIENT_FIELDS}
    given = {k: v for k, v in body.items() if k in PATIENT_FIELDS or k == "version"}
    form = PatientEditForm(form_input(current | given | {"site": site_id}), sites=_edit_sites(access))
    if not form.is_valid():
        return form_errors(form)
    try:
        update_if_changed(record=patient, expected_version=form.cleaned_data["version"], changes=_patient_values(form.cleaned_data),
                          user=request.user, update=patient_update)
    except EditConflict as conflict:
        return conflict_response(conflict)
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {"site_id": "site"})
    return Response(_shown_patient(request, patient.pk))


class LevelSerializer(drf.Serializer):
    fracture = drf.IntegerField(help_text="A fracture of the patient.")
    cement_ml = drf.FloatField(required=False, allow_null=True)


class ProcedureWriteSerializer(drf.Serializer):
    """A procedure as the API takes it (the schema only: the web form validates; its errors about a
    level are named ``treat_<fracture>`` / ``cement_<fracture>``, about the levels as a whole ``levels``)."""

    version = drf.IntegerField(min_value=1, required=False, help_text="Required on PATCH: the version you read.")
    patient = drf.IntegerField(required=False, help_text="Required on POST.")
    performed_on = drf.DateField(required=False)
    kind = drf.CharField(required=False)
    approach = drf.CharField(required=False)
    operator = drf.CharField(required=False, allow_blank=True)
    biopsy_taken = drf.BooleanField(required=False)
    biopsy_result = drf.CharField(required=False, allow_blank=True, allow_null=True)
    levels = LevelSerializer(many=True, required=False, help_text="The treated levels (all of them: replaces the list on PATCH).")


def _procedure_form_data(body: dict, fractures: list) -> dict:
    data = {k: v for k, v in body.items() if k in PROCEDURE_FIELDS or k == "version"}
    for key in ("biopsy_result", "operator"):
        if data.get(key) is None:
            data.pop(key, None)
    levels = body.get("levels")
    if levels is not None:
        if not isinstance(levels, list) or not all(isinstance(level, dict) for level in levels):
            raise _refuse("levels: send a list of {fracture, cement_ml}.", status.HTTP_400_BAD_REQUEST)
        known = {f.pk for f in fractures}
        for level in levels:
            fracture = level.get("fracture")
            if not isinstance(fracture, int) or isinstance(fracture, bool) or fracture not in known:
                raise Refused(Response({"levels": [f"Fracture {level.get('fracture')!r} is not a recorded fracture of this patient."]},
                                       status=status.HTTP_400_BAD_REQUEST))
            data[f"treat_{level['fracture']}"] = "on"
            if level.get("cement_ml") is not None:
                data[f"cement_{level['fracture']}"] = level["cement_ml"]
    return data


def _shown_procedure(request, pk: int) -> dict:  # noqa: ANN001
    procedure = Procedure.objects.select_related("patient").get(pk=pk)
    return serializers.ProcedureSerializer(procedure, context={"access": access_of_user(request.user)}).data


def procedure_create_from_api(request) -> Response:  # noqa: ANN001
    """POST /procedures/: a procedure of a patient of your sites (after an unblocked eligibility checklist)."""
    access = access_of_user(request.user)
    try:
        body = json_body(request, lists=("levels",))
        pk = body.get("patient")
        patient = Patient.objects.filter(site_id__in=access.site_ids, pk=pk).first() if isinstance(pk, int) and not isinstance(pk, bool) else None
        if patient is None:
            raise Http404
        if not access.can_edit(patient.site_id):
            raise _refuse(FORBIDDEN, status.HTTP_403_FORBIDDEN)
        _check_identifiers_allowed(access, patient.site_id, body, PROCEDURE_IDENTIFIERS)
        fractures = list(patient.fractures.order_by("id"))
        data = {"kind": "vertebroplasty", "approach": "bipedicular", "biopsy_taken": "no"} | _procedure_form_data(body, fractures)
    except Refused as refused:
        return refused.response
    form = ProcedureForm(form_input(data), fractures=fractures)
    if not form.is_valid():
        return form_errors(form)
    try:
        procedure = procedure_with_complications_create(
            patient=patient, procedure=procedure_values(form.cleaned_data), treated=form.cleaned_data["treated"], complications=[], user=request.user
        )
    except EligibilityBlocked as error:
        return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {})
    return Response(_shown_procedure(request, procedure.pk), status=status.HTTP_201_CREATED)


def procedure_patch(request, procedure: Procedure) -> Response:  # noqa: ANN001
    """PATCH /procedures/<id>/ (the procedure is already scoped to the caller's sites)."""
    access = access_of_user(request.user)
    patient = procedure.patient
    if not access.can_edit(patient.site_id):
        return Response({"detail": FORBIDDEN}, status=status.HTTP_403_FORBIDDEN)
    fractures = list(patient.fractures.order_by("id"))
    current = {name: getattr(procedure, name) for name in PROCEDURE_FIELDS}
    current["biopsy_taken"] = "yes" if procedure.biopsy_taken else "no"
    current = {k: v for k, v in current.items() if v is not None}
    stored_levels = [{"fracture": level.fracture_id, "cement_ml": level.cement_ml} for level in procedure.treated_levels.all()]
    try:
        body = json_body(request, lists=("levels",))
        _check_identifiers_allowed(access, patient.site_id, body, PROCEDURE_IDENTIFIERS)
        data = current | _procedure_form_data({"levels": stored_levels} | body, fractures)
    except Refused as refused:
        return refused.response
    form = ProcedureEditForm(form_input(data), fractures=fractures)
    if not form.is_valid():
        return form_errors(form)
    try:
        procedure_update(procedure=procedure, expected_version=form.cleaned_data["version"], changes=procedure_values(form.cleaned_data),
                         treated=form.cleaned_data["treated"], user=request.user)
    except EditConflict as conflict:
        return conflict_response(conflict)
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {})
    return Response(_shown_procedure(request, procedure.pk))


PATIENT_POST = extend_schema(request=PatientWriteSerializer, responses={201: serializers.PatientSerializer, **WRITE_ERRORS})
PATIENT_PATCH = extend_schema(request=PatientWriteSerializer, responses={200: serializers.PatientSerializer, **WRITE_ERRORS})
PROCEDURE_POST = extend_schema(request=ProcedureWriteSerializer, responses={201: serializers.ProcedureSerializer, **WRITE_ERRORS})
PROCEDURE_PATCH = extend_schema(request=ProcedureWriteSerializer, responses={200: serializers.ProcedureSerializer, **WRITE_ERRORS})
