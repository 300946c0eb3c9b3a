"""API writes: the web forms validate the body (same rules, same messages per field), the same services
save it, crediting the token user in the history. A record of a site the caller does not belong to is
404 (as for reading it); a role that may not change records there is 403; a stale ``version`` is 409
with the ``current_version``. A refused write writes nothing."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ...domain.errors import DomainError
from ..models import FollowUp, PainAssessment, Procedure
from ..services.clinical import follow_up_record, pain_assessment_record
from ..services.records import EditConflict
from ..web.forms.assessments import FollowUpEditForm, FollowUpForm, PainForm
from ..web.forms.base import add_service_error
from ..web.permissions import access_of_user
from ..web.views.common import update_if_changed
from . import serializers

FORBIDDEN = "Your role at this site does not allow changing records."
DUPLICATE_SCORE = "This procedure already has a score at that timepoint; edit that one instead."
#: The refusals of every write, for the schema (404 is left out, as on the reads: a path with a non-numeric
#: id never reaches the API and gets the web app's page): 400 maps each field to the form's messages (``detail``
#: when no field is to blame), 409 carries ``current_version``.
WRITE_ERRORS = {code: OpenApiTypes.OBJECT for code in (400, 403, 409)}
FOLLOW_UP_FIELDS = ("seen_on", "venue", "recurrent_pain", "new_fracture_level", "further_procedure", "analgesics")


class Refused(Exception):
    """Ends a write with ``response`` (400, 403 or 409); nothing has been written."""

    def __init__(self, response: Response):
        self.response = response


def form_errors(form: forms.Form) -> Response:
    return Response({field: [str(m) for m in messages] for field, messages in form.errors.items()}, status=status.HTTP_400_BAD_REQUEST)


def conflict_response(conflict: EditConflict) -> Response:
    return Response({"detail": str(conflict), "current_version": conflict.current.version}, status=status.HTTP_409_CONFLICT)


def editable_procedure(request, pk: object) -> Procedure:  # noqa: ANN001
    """The procedure ``pk`` of the caller's sites (else 404), if their role there may change records (else 403)."""
    access = access_of_user(request.user)
    procedure = None
    if isinstance(pk, int) and not isinstance(pk, bool):
        procedure = Procedure.objects.select_related("patient").filter(patient__site_id__in=access.site_ids, pk=pk).first()
    if procedure is None:
        raise Http404
    if not access.can_edit(procedure.patient.site_id):
        raise Refused(Response({"detail": FORBIDDEN}, status=status.HTTP_403_FORBIDDEN))
    return procedure


def service_refusal(error: Exception, form: forms.Form, field_names: dict[str, str]) -> Response:
    """A service's refusal, placed on the form's fields as the web page places it."""
    add_service_error(form, error, field_names)
    return form_errors(form)


YES_NO_FIELDS = ("recurrent_pain", "further_procedure", "biopsy_taken")


def form_input(data: dict) -> dict:
    """JSON values as a browser posts them, so the form sees what it is built for: text (a boolean of a
    yes/no question as ``"yes"``/``"no"``, null as empty)."""
    def posted(name: str, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) and name in YES_NO_FIELDS:
            return "yes" if value else "no"
        return str(value)

    return {name: posted(name, value) for name, value in data.items()}


def json_body(request, *, lists: tuple[str, ...] = ()) -> dict:  # noqa: ANN001
    """The request's JSON object; every field but ``lists`` one value (the forms take no lists or objects)."""
    if not isinstance(request.data, dict):
        raise Refused(Response({"detail": "Send a JSON object."}, status=status.HTTP_400_BAD_REQUEST))
    nested = {name: ["Send one value (a string, number, boolean or null), not a list or an object."]
              for name, value in request.data.items() if name not in lists and isinstance(value, (list, dict))}
    if nested:
        raise Refused(Response(nested, status=status.HTTP_400_BAD_REQUEST))
    return dict(request.data)


def assessment_create(request) -> Response:  # noqa: ANN001
    """POST /assessments/: a new pain score from the API (source ``api``)."""
    try:
        body = json_body(request)
        procedure = editable_procedure(request, body.get("procedure"))
    except Refused as refused:
        return refused.response
    form = PainForm(form_input({"instrument": "vps"} | {k: v for k, v in body.items() if k != "procedure"}), procedure=procedure)
    if not form.is_valid():
        return form_errors(form)
    data = form.cleaned_data
    try:
        assessment = pain_assessment_record(
            procedure=procedure,
            assessed_on=data["assessed_on"],
            score=data["score"],
            instrument=data["instrument"],
            timepoint=data["derived_timepoint"],
            venue=data["venue"] or None,
            user=request.user,
            source="api",
        )
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {"timepoint": "assessed_on", "score": "score"})
    except IntegrityError:
        return Response({"assessed_on": [DUPLICATE_SCORE]}, status=status.HTTP_400_BAD_REQUEST)
    shown = PainAssessment.objects.select_related("patient", "procedure").get(pk=assessment.pk)
    return Response(serializers.AssessmentSerializer(shown, context={"access": access_of_user(request.user)}).data, status=status.HTTP_201_CREATED)


class FollowUpWriteSerializer(drf.Serializer):
    """A follow-up as the API takes it (the schema only: the web form validates). On PATCH every field
    but ``version`` is optional and ``procedure`` cannot change."""

    procedure = drf.IntegerField(required=False, help_text="Required on POST.")
    version = drf.IntegerField(min_value=1, required=False, help_text="Required on PATCH: the version you read.")
    seen_on = drf.DateField(required=False)
    venue = drf.CharField(required=False)
    recurrent_pain = drf.BooleanField(required=False)
    new_fracture_level = drf.CharField(required=False, allow_blank=True, allow_null=True)
    further_procedure = drf.BooleanField(required=False)
    analgesics = drf.CharField(required=False, allow_blank=True, allow_null=True)


class AssessmentCreateSerializer(drf.Serializer):
    """A new pain score (the schema only: the web form validates)."""

    procedure = drf.IntegerField()
    assessed_on = drf.DateField()
    score = drf.FloatField()
    instrument = drf.CharField(required=False, help_text="vps (default) or another scale of the vocabulary.")
    venue = drf.CharField(required=False, allow_blank=True)
    procedure_day = drf.ChoiceField(choices=["before", "after"], required=False, help_text="Only on the procedure day.")


def _follow_up_values(data: dict) -> dict:
    values = {name: data.get(name) for name in FOLLOW_UP_FIELDS}
    values["new_fracture_level"] = values["new_fracture_level"] or None
    values["analgesics"] = values["analgesics"] or None
    return values


def _shown_follow_up(request, pk: int) -> dict:  # noqa: ANN001
    visit = FollowUp.objects.select_related("patient", "procedure").get(pk=pk)
    return serializers.FollowUpSerializer(visit, context={"access": access_of_user(request.user)}).data


def follow_up_create(request) -> Response:  # noqa: ANN001
    """POST /follow-ups/: a new follow-up visit or call."""
    try:
        body = json_body(request)
        procedure = editable_procedure(request, body.get("procedure"))
    except Refused as refused:
        return refused.response
    form = FollowUpForm(form_input({k: v for k, v in body.items() if k != "procedure"}), procedure=procedure)
    if not form.is_valid():
        return form_errors(form)
    try:
        visit = follow_up_record(procedure=procedure, user=request.user, **_follow_up_values(form.cleaned_data))
    except (DomainError, ValidationError) as error:
        return service_refusal(error, form, {})
    return Response(_shown_follow_up(request, visit.pk), status=status.HTTP_201_CREATED)


class FollowUpDetail(APIView):
    """One follow-up; PATCH changes it like the web form does, with ``version`` the version you read."""

    def _follow_up(self) -> FollowUp:
        access = access_of_user(self.request.user)
        visit = FollowUp.objects.select_related("procedure__patient").filter(patient__site_id__in=access.site_ids, pk=self.kwargs["pk"]).first()
        if visit is None:
            raise Http404
        return visit

    @extend_schema(responses=serializers.FollowUpSerializer)
    def get(self, request, pk: int) -> Response:  # noqa: ANN001
        return Response(_shown_follow_up(request, self._follow_up().pk))

    @extend_schema(request=FollowUpWriteSerializer, responses={200: serializers.FollowUpSerializer, **WRITE_ERRORS})
    def patch(self, request, pk: int) -> Response:  # noqa: ANN001
        visit = self._follow_up()
        procedure = visit.procedure
        if not access_of_user(request.user).can_edit(procedure.patient.site_id):
            return Response({"detail": FORBIDDEN}, status=status.HTTP_403_FORBIDDEN)
        try:
            body = json_body(request)
        except Refused as refused:
            return refused.response
        current = {name: getattr(visit, name) for name in FOLLOW_UP_FIELDS}
        given = {k: v for k, v in body.items() if k in FOLLOW_UP_FIELDS or k == "version"}
        form = FollowUpEditForm(form_input({**current, "new_fracture_level": visit.new_fracture_level or "", "analgesics": visit.analgesics or ""} | given),
                                procedure=procedure)
        if not form.is_valid():
            return form_errors(form)
        changes = _follow_up_values(form.cleaned_data)
        changes["new_fracture"] = changes["new_fracture_level"] is not None
        try:
            update_if_changed(record=visit, expected_version=form.cleaned_data["version"], changes=changes, user=request.user)
        except EditConflict as conflict:
            return conflict_response(conflict)
        except (DomainError, ValidationError) as error:
            return service_refusal(error, form, {})
        return Response(_shown_follow_up(request, visit.pk))
