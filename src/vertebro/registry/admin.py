"""The Django admin, for staff: sites and staff roles are managed here; clinical records can be
looked at with their full history but not changed, because changes go through the app's forms and
services (validation, optimistic locking, attributed history)."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Complication,
    EligibilityAssessment,
    ExportLog,
    FollowUp,
    Fracture,
    ImportBatch,
    PainAssessment,
    Patient,
    Procedure,
    Site,
    StaffMembership,
    TreatedLevel,
)

admin.site.site_header = "vertebro registry administration"
admin.site.site_title = "vertebro admin"


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "site", "role")
    list_filter = ("site", "role")
    search_fields = ("user__username",)
    autocomplete_fields = ("site",)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """Look, and read the history; never add, change or delete here."""

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyHistoryAdmin):
    # Identifiers stay off the list pages; the record page shows them to staff.
    list_display = ("study_id", "site", "sex", "version", "updated_at")
    list_filter = ("site", "sex")
    search_fields = ("study_id",)
    list_select_related = ("site",)
    show_full_result_count = False


@admin.register(Fracture)
class FractureAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "patient", "level", "etiology", "version")
    list_filter = ("etiology",)
    search_fields = ("patient__study_id",)
    list_select_related = ("patient",)
    show_full_result_count = False


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "patient", "performed_on", "kind", "approach", "version")
    list_filter = ("kind", "approach")
    search_fields = ("patient__study_id",)
    list_select_related = ("patient",)
    show_full_result_count = False


@admin.register(TreatedLevel)
class TreatedLevelAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "procedure", "fracture", "cement_ml", "version")
    list_select_related = ("procedure", "fracture")
    show_full_result_count = False


@admin.register(Complication)
class ComplicationAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "procedure", "kind", "leak_route", "symptomatic", "version")
    list_filter = ("kind", "leak_route", "symptomatic")
    list_select_related = ("procedure",)


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "patient", "seen_on", "venue", "recurrent_pain", "version")
    list_filter = ("venue", "recurrent_pain")
    search_fields = ("patient__study_id",)
    list_select_related = ("patient",)
    show_full_result_count = False


@admin.register(PainAssessment)
class PainAssessmentAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "patient", "timepoint", "assessed_on", "score", "instrument", "version")
    list_filter = ("timepoint", "instrument")
    search_fields = ("patient__study_id",)
    list_select_related = ("patient",)
    show_full_result_count = False


@admin.register(EligibilityAssessment)
class EligibilityAssessmentAdmin(ReadOnlyHistoryAdmin):
    list_display = ("id", "patient", "assessed_on", "assessed_by", "overridden_by", "version")
    list_select_related = ("patient", "assessed_by", "overridden_by")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "file_name", "status", "started_at", "user", "os_user", "rows_read", "rows_created", "rows_updated")
    list_filter = ("status", "file_format")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ("id", "exported_at", "user", "os_user", "file_format", "deidentified", "rows", "destination")
    list_filter = ("file_format", "deidentified")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
