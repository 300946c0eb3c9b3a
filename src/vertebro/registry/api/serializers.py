"""What the API shows of each record. Identifiers and free text only where the reader's role at the
record's site may see them (as the web pages); for de-identified readers (analysts) clinical dates are
replaced by days from the procedure, as in de-identified exports."""

from __future__ import annotations

from rest_framework import serializers

from ..models import FollowUp, ImportBatch, PainAssessment, Patient, Procedure
from ..web.permissions import Access


def _only_where_identified(*names: str) -> dict:
    """Marks fields absent for de-identified readers as optional, so the schema says so."""
    return {name: {"required": False, "help_text": "Only for roles that see identifiers at the record's site."} for name in names}


class _ScopedSerializer(serializers.ModelSerializer):
    """Drops ``identified_fields`` for records of sites where the reader does not see identifiers."""

    identified_fields: tuple[str, ...] = ()

    def _site_id(self, instance) -> int:  # noqa: ANN001
        raise NotImplementedError

    def to_representation(self, instance):  # noqa: ANN001, ANN201
        data = super().to_representation(instance)
        access: Access = self.context["access"]
        if not access.sees_phi(self._site_id(instance)):
            for name in self.identified_fields:
                data.pop(name, None)
        return data


class PatientSerializer(_ScopedSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True, help_text="Whole years at the index procedure.")
    etiology = serializers.CharField(read_only=True, allow_null=True, help_text="Study group from the fractures.")
    identified_fields = ("mrn", "name", "birth_date")

    class Meta:
        model = Patient
        fields = ["id", "study_id", "site", "sex", "age", "etiology", "version", "updated_at", "mrn", "name", "birth_date"]
        extra_kwargs = _only_where_identified("mrn", "name", "birth_date")

    def _site_id(self, instance) -> int:  # noqa: ANN001
        return instance.site_id


class ProcedureSerializer(_ScopedSerializer):
    study_id = serializers.CharField(source="patient.study_id", read_only=True)
    identified_fields = ("performed_on", "operator")

    class Meta:
        model = Procedure
        fields = ["id", "patient", "study_id", "kind", "approach", "biopsy_taken", "biopsy_result", "version", "updated_at",
                  "performed_on", "operator"]
        extra_kwargs = _only_where_identified("performed_on", "operator")

    def _site_id(self, instance) -> int:  # noqa: ANN001
        return instance.patient.site_id


class AssessmentSerializer(_ScopedSerializer):
    study_id = serializers.CharField(source="patient.study_id", read_only=True)
    days_from_procedure = serializers.SerializerMethodField()
    identified_fields = ("assessed_on",)

    class Meta:
        model = PainAssessment
        fields = ["id", "patient", "procedure", "study_id", "timepoint", "days_from_procedure", "score", "instrument", "venue",
                  "version", "updated_at", "assessed_on"]
        extra_kwargs = _only_where_identified("assessed_on")

    def get_days_from_procedure(self, assessment: PainAssessment) -> int:
        return (assessment.assessed_on - assessment.procedure.performed_on).days

    def _site_id(self, instance) -> int:  # noqa: ANN001
        return instance.patient.site_id


class AssessmentUpdateSerializer(serializers.Serializer):
    """A change to a pain score: ``version`` is the version the client read (409 when it is stale)."""

    version = serializers.IntegerField(min_value=1)
    score = serializers.FloatField(required=False)
    instrument = serializers.CharField(required=False)
    assessed_on = serializers.DateField(required=False)
    venue = serializers.CharField(required=False, allow_blank=True)
    procedure_day = serializers.ChoiceField(choices=["before", "after"], required=False)


class FollowUpSerializer(_ScopedSerializer):
    study_id = serializers.CharField(source="patient.study_id", read_only=True)
    days_from_procedure = serializers.SerializerMethodField()
    identified_fields = ("seen_on",)

    class Meta:
        model = FollowUp
        fields = ["id", "patient", "procedure", "study_id", "days_from_procedure", "venue", "recurrent_pain", "new_fracture",
                  "new_fracture_level", "further_procedure", "analgesics", "version", "updated_at", "seen_on"]
        extra_kwargs = _only_where_identified("seen_on")

    def get_days_from_procedure(self, follow_up: FollowUp) -> int:
        return (follow_up.seen_on - follow_up.procedure.performed_on).days

    def _site_id(self, instance) -> int:  # noqa: ANN001
        return instance.patient.site_id


class ImportBatchSerializer(serializers.ModelSerializer):
    # Declared, not derived: the derived maximum follows the database backend (SQLite 2^63-1,
    # PostgreSQL 2^31-1), and the committed schema must be one file.
    rows_read = serializers.IntegerField(read_only=True, min_value=0)
    rows_created = serializers.IntegerField(read_only=True, min_value=0)
    rows_updated = serializers.IntegerField(read_only=True, min_value=0)
    rows_unchanged = serializers.IntegerField(read_only=True, min_value=0)
    rows_skipped = serializers.IntegerField(read_only=True, min_value=0)

    class Meta:
        model = ImportBatch
        fields = ["id", "file_format", "file_sha256", "started_at", "finished_at", "status", "rows_read", "rows_created",
                  "rows_updated", "rows_unchanged", "rows_skipped"]
