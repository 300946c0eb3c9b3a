"""API views: thin — scope to the token user's sites, filter, page, serialize; writes through the web
form's validation and :func:`record_update` (optimistic locking, history crediting the API user)."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.dateparse import parse_date, parse_datetime
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ...domain.errors import DomainError
from ...errors import VertebroError
from ...domain.timepoints import BY_CODE, UNSCHEDULED
from ...domain.vocabulary import ETIOLOGY
from ..models import FollowUp, Fracture, ImportBatch, PainAssessment, Patient, Procedure
from ..selectors.patients import patient_rows
from ..services.records import EditConflict
from ..web.forms.assessments import PainEditForm
from ..web.permissions import access_of_user
from ..web.views.common import update_if_changed
from . import serializers, writes, writes_records
from .pagination import NewestFirstPagination

SITE = OpenApiParameter("site", str, description="Only this site (a site code).")
ETIOLOGY_PARAM = OpenApiParameter("etiology", str, enum=list(ETIOLOGY.codes), description="Only patients with a fracture of this etiology.")
TIMEPOINT = OpenApiParameter("timepoint", str, enum=list(BY_CODE) + [UNSCHEDULED], description="Only this timepoint.")
CHANGED_SINCE = OpenApiParameter(
    "changed_since", OpenApiTypes.DATETIME, description="Only records changed at or after this time (ISO 8601; a date means its midnight UTC)."
)


def _changed_since(value: str) -> datetime:
    moment = parse_datetime(value) if "T" in value or " " in value else None
    if moment is None:
        day = parse_date(value) if len(value) == 10 else None
        if day is None:
            raise ApiValidationError({"changed_since": [f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T08:00:00Z)."]})
        moment = datetime(day.year, day.month, day.day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt_timezone.utc)
    return moment


class _ScopedList(generics.ListAPIView):
    """A list of the caller's sites' records with the shared filters."""

    site_field = "patient__site"
    patient_field = "patient"
    filters: tuple[str, ...] = ("site", "etiology", "changed_since")

    def access(self):  # noqa: ANN201
        if not hasattr(self, "_access"):
            self._access = access_of_user(self.request.user)
        return self._access

    def get_serializer_context(self) -> dict:
        return super().get_serializer_context() | {"access": self.access()}

    def base_queryset(self):  # noqa: ANN201
        raise NotImplementedError

    def get_queryset(self):  # noqa: ANN201
        records = self.base_queryset().filter(**{f"{self.site_field}_id__in": self.access().site_ids})
        params = self.request.query_params
        if "site" in self.filters and params.get("site"):
            records = records.filter(**{f"{self.site_field}__code": params["site"]})
        if "etiology" in self.filters and params.get("etiology"):
            etiology = params["etiology"]
            if etiology not in ETIOLOGY.codes:
                raise ApiValidationError({"etiology": [f"{etiology!r} is not one of {', '.join(ETIOLOGY.codes)}."]})
            prefix = f"{self.patient_field}__" if self.patient_field else ""
            with_fracture = Fracture.objects.filter(etiology=etiology).values("patient_id")
            records = records.filter(**{f"{prefix}pk__in" if prefix else "pk__in": with_fracture})
        if "timepoint" in self.filters and params.get("timepoint"):
            timepoint = params["timepoint"]
            if timepoint not in BY_CODE and timepoint != UNSCHEDULED:
                raise ApiValidationError({"timepoint": [f"{timepoint!r} is not one of {', '.join([*BY_CODE, UNSCHEDULED])}."]})
            records = records.filter(timepoint=timepoint)
        if "changed_since" in self.filters and params.get("changed_since"):
            records = records.filter(updated_at__gte=_changed_since(params["changed_since"]))
        return records.order_by("pk")


@extend_schema_view(get=extend_schema(parameters=[SITE, ETIOLOGY_PARAM, CHANGED_SINCE]))
class PatientList(_ScopedList):
    """Patients of your sites (identifiers only where your role sees them)."""

    serializer_class = serializers.PatientSerializer
    site_field = "site"
    patient_field = ""

    def base_queryset(self):  # noqa: ANN201
        return Patient.objects.select_related("site")

    def paginate_queryset(self, queryset):  # noqa: ANN001, ANN201
        page = super().paginate_queryset(queryset)
        for row in patient_rows(page):
            row.patient.age, row.patient.etiology = row.age, row.group
        return page

    @writes_records.PATIENT_POST
    def post(self, request) -> Response:  # noqa: ANN001
        """Register a patient like the web form does (same rules and messages); ``site`` is a site code."""
        return writes_records.patient_create_from_api(request)


class PatientDetail(generics.RetrieveAPIView):
    """One patient of your sites; another site's patient is 404. PATCH changes it like the web form
    does, with ``version`` the version you read (409 when stale)."""

    serializer_class = serializers.PatientSerializer

    def get_serializer_context(self) -> dict:
        return super().get_serializer_context() | {"access": access_of_user(self.request.user)}

    def get_object(self) -> Patient:
        access = access_of_user(self.request.user)
        patient = Patient.objects.select_related("site").filter(site_id__in=access.site_ids, pk=self.kwargs["pk"]).first()
        if patient is None:
            raise Http404
        row = patient_rows([patient])[0]
        patient.age, patient.etiology = row.age, row.group
        return patient

    @writes_records.PATIENT_PATCH
    def patch(self, request, pk: int) -> Response:  # noqa: ANN001
        return writes_records.patient_patch(request, self.get_object())


@extend_schema_view(get=extend_schema(parameters=[SITE, ETIOLOGY_PARAM, CHANGED_SINCE]))
class ProcedureList(_ScopedList):
    """Procedures of your sites' patients (dates and the operator only where your role sees identifiers)."""

    serializer_class = serializers.ProcedureSerializer

    def base_queryset(self):  # noqa: ANN201
        return Procedure.objects.select_related("patient")

    @writes_records.PROCEDURE_POST
    def post(self, request) -> Response:  # noqa: ANN001
        """Record a procedure like the web form does (same rules; an eligibility checklist must allow it, else 409)."""
        return writes_records.procedure_create_from_api(request)


class ProcedureDetail(APIView):
    """One procedure; PATCH changes it like the web form does, with ``version`` the version you read."""

    def _procedure(self) -> Procedure:
        access = access_of_user(self.request.user)
        procedure = Procedure.objects.select_related("patient").filter(patient__site_id__in=access.site_ids, pk=self.kwargs["pk"]).first()
        if procedure is None:
            raise Http404
        return procedure

    @extend_schema(responses=serializers.ProcedureSerializer)
    def get(self, request, pk: int) -> Response:  # noqa: ANN001
        return Response(serializers.ProcedureSerializer(self._procedure(), context={"access": access_of_user(request.user)}).data)

    @writes_records.PROCEDURE_PATCH
    def patch(self, request, pk: int) -> Response:  # noqa: ANN001
        return writes_records.procedure_patch(request, self._procedure())


@extend_schema_view(get=extend_schema(parameters=[SITE, ETIOLOGY_PARAM, TIMEPOINT, CHANGED_SINCE]))
class AssessmentList(_ScopedList):
    """Pain assessments of your sites' patients."""

    serializer_class = serializers.AssessmentSerializer
    filters = ("site", "etiology", "timepoint", "changed_since")

    def base_queryset(self):  # noqa: ANN201
        return PainAssessment.objects.select_related("patient", "procedure")

    @extend_schema(request=writes.AssessmentCreateSerializer, responses={201: serializers.AssessmentSerializer, **writes.WRITE_ERRORS})
    def post(self, request) -> Response:  # noqa: ANN001
        """Record a pain score like the web form does (same rules and messages); its source is ``api``."""
        return writes.assessment_create(request)


class AssessmentDetail(APIView):
    """One pain assessment; PATCH changes it like the web form does (same rules and messages), with
    ``version`` the version you read: a stale one is 409 and writes nothing."""

    def _assessment(self) -> PainAssessment:
        access = access_of_user(self.request.user)
        assessment = (
            PainAssessment.objects.select_related("patient", "procedure__patient")
            .filter(patient__site_id__in=access.site_ids, pk=self.kwargs["pk"])
            .first()
        )
        if assessment is None:
            raise Http404
        return assessment

    def _shown(self, assessment: PainAssessment) -> dict:
        return serializers.AssessmentSerializer(assessment, context={"access": access_of_user(self.request.user)}).data

    @extend_schema(responses=serializers.AssessmentSerializer)
    def get(self, request, pk: int) -> Response:  # noqa: ANN001
        return Response(self._shown(self._assessment()))

    @extend_schema(request=serializers.AssessmentUpdateSerializer, responses={200: serializers.AssessmentSerializer, **writes.WRITE_ERRORS})
    def patch(self, request, pk: int) -> Response:  # noqa: ANN001
        assessment = self._assessment()
        procedure = assessment.procedure
        if not access_of_user(request.user).can_edit(procedure.patient.site_id):
            return Response({"detail": "Your role at this site does not allow changing records."}, status=status.HTTP_403_FORBIDDEN)
        body = serializers.AssessmentUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        given = body.validated_data
        current = {
            "assessed_on": assessment.assessed_on,
            "score": assessment.score * 10 if assessment.instrument == "vas100" else assessment.score,
            "instrument": assessment.instrument,
            "venue": assessment.venue or "",
            "procedure_day": {"baseline": "before", "post": "after"}.get(assessment.timepoint, ""),
        }
        data = {**current, **{k: v for k, v in given.items() if k != "version"}, "version": given["version"]}
        form = PainEditForm(data, procedure=procedure)
        if not form.is_valid():
            return Response({field: [str(m) for m in messages] for field, messages in form.errors.items()}, status=status.HTTP_400_BAD_REQUEST)
        cleaned = form.cleaned_data
        timepoint = cleaned["derived_timepoint"]
        taken = timepoint != UNSCHEDULED and procedure.pain_assessments.filter(timepoint=timepoint).exclude(pk=assessment.pk).exists()
        if taken:
            return Response({"assessed_on": ["This procedure already has a score at that timepoint; edit that one instead."]}, status=status.HTTP_400_BAD_REQUEST)
        changes = {
            "assessed_on": cleaned["assessed_on"],
            "score": cleaned["score"] / 10 if cleaned["instrument"] == "vas100" else cleaned["score"],
            "instrument": cleaned["instrument"],
            "venue": cleaned["venue"] or None,
            "timepoint": timepoint,
            "source": "api",
        }
        try:
            update_if_changed(record=assessment, expected_version=cleaned["version"], changes=changes, user=request.user)
        except EditConflict as conflict:
            return Response(
                {"detail": str(conflict), "current_version": conflict.current.version}, status=status.HTTP_409_CONFLICT
            )
        except (DomainError, ValidationError) as error:
            detail = getattr(error, "message_dict", None) or {"detail": [str(error)]}
            return Response(detail, status=status.HTTP_400_BAD_REQUEST)
        return Response(self._shown(self._assessment()))


@extend_schema_view(get=extend_schema(parameters=[SITE, ETIOLOGY_PARAM, CHANGED_SINCE]))
class FollowUpList(_ScopedList):
    """Follow-up encounters of your sites' patients."""

    serializer_class = serializers.FollowUpSerializer

    def base_queryset(self):  # noqa: ANN201
        return FollowUp.objects.select_related("patient", "procedure")

    @extend_schema(request=writes.FollowUpWriteSerializer, responses={201: serializers.FollowUpSerializer, **writes.WRITE_ERRORS})
    def post(self, request) -> Response:  # noqa: ANN001
        """Record a follow-up like the web form does (same rules and messages)."""
        return writes.follow_up_create(request)


class ImportList(generics.ListAPIView):
    """Imports: a superuser sees every import, anyone else the imports they ran themselves
    (an import is not bound to one site). File names are left out: people name files after patients."""

    serializer_class = serializers.ImportBatchSerializer
    pagination_class = NewestFirstPagination

    def get_queryset(self):  # noqa: ANN201
        batches = ImportBatch.objects.all()
        return batches if self.request.user.is_superuser else batches.filter(user=self.request.user)


class AnalysisContract(APIView):
    """The ``vertebro.analysis/1`` contract of the data of your sites (aggregates only: de-identified for
    every role). The reviewer's sections (multiple imputation) are left null here, as in
    ``vertebro analyze --core-only``: they take minutes, too long for a request."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request) -> Response:  # noqa: ANN001
        from ...stats.analysis import analyze
        from ...stats.reviewer import ReviewerSettings
        from ..selectors.flat import flat_assessments_df

        access = access_of_user(request.user)
        codes = [m.site_code for m in access.memberships]
        frame = flat_assessments_df(site_codes=codes)
        if frame.empty:
            return Response({"detail": "Your sites have no pain assessments to analyse yet."}, status=status.HTTP_404_NOT_FOUND)
        try:
            return Response(analyze(frame, reviewer=ReviewerSettings(enabled=False)))
        except (VertebroError, ValueError) as error:
            return Response({"detail": f"The analysis could not run on your sites' data: {error}"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
