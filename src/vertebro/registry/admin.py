"""The Django admin, for staff: sites, staff roles and accounts are managed here; clinical records and
the import and export records can be looked at, with their full history, but never written: every
view of theirs answers 405 to anything but GET and HEAD, and django-simple-history's revert is off.
Changes go through the app's forms and services (validation, optimistic locking — a revert here would
change a record without bumping its version, so an edit opened earlier would silently save over it —
and attributed history).

An account named in the audit trail cannot be deleted (the history that names it is append-only):
the admin says so and offers to deactivate it instead (:class:`AccountAdmin`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_safe
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
    SiteMrnSystem,
    StaffMembership,
    TreatedLevel,
)
from .selectors.accounts import account_history_entries
from .services.accounts import user_deactivate

admin.site.site_header = "vertebro registry administration"
admin.site.site_title = "vertebro admin"


class MrnSystemsShown(admin.TabularInline):
    """A site's MRN systems, shown on its page; they are set with `vertebro site set CODE --mrn-system URI`
    (which checks every URI), never here."""

    model = SiteMrnSystem
    fields = readonly_fields = ("position", "system")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "mrn_systems_shown")
    search_fields = ("code", "name")
    inlines = (MrnSystemsShown,)

    @admin.display(description="MRN systems")
    def mrn_systems_shown(self, site: Site) -> str:
        return ", ".join(m.system for m in site.mrn_systems.all()) or "—"

    def get_queryset(self, request):  # noqa: ANN001, ANN201
        return super().get_queryset(request).prefetch_related("mrn_systems")


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "site", "role")
    list_filter = ("site", "role")
    search_fields = ("user__username",)
    autocomplete_fields = ("site",)


class ReadOnlyViews:
    """Mixin of a model admin whose every view — list, form, delete, history, revert and any view a
    library adds — answers 405 to all but GET and HEAD, whatever the user's permissions: none of its
    forms, actions or reverts can write. It offers no add, change, delete or bulk action either."""

    def get_urls(self):  # noqa: ANN201
        patterns = super().get_urls()
        for pattern in patterns:
            pattern.callback = require_safe(pattern.callback)
        return patterns

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def get_actions(self, request):  # noqa: ANN001, ANN201
        return {}


class ReadOnlyHistoryAdmin(ReadOnlyViews, SimpleHistoryAdmin):
    """Look, and read the history; never add, change, delete or revert here (django-simple-history's
    revert saves a past state through the admin form, with no version check)."""

    def revert_disabled(self, request, obj=None) -> bool:  # noqa: ANN001
        return True


@admin.register(SiteMrnSystem)
class SiteMrnSystemAdmin(ReadOnlyHistoryAdmin):
    """MRN systems and their history (who added or removed which, when); set with `vertebro site set`."""

    list_display = ("site", "position", "system")
    list_filter = ("site",)
    list_select_related = ("site",)


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


class AuditRecordAdmin(ReadOnlyViews, admin.ModelAdmin):
    """Import and export records: append-only (the database refuses changes too), so read-only here."""


@admin.register(ImportBatch)
class ImportBatchAdmin(AuditRecordAdmin):
    list_display = ("id", "file_name", "status", "started_at", "finished_at", "user", "os_user", "rows_read", "rows_created", "rows_updated")
    list_filter = ("status", "file_format")


@admin.register(ExportLog)
class ExportLogAdmin(AuditRecordAdmin):
    list_display = ("id", "exported_at", "user", "os_user", "file_format", "deidentified", "rows", "destination")
    list_filter = ("file_format", "deidentified")



User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin, but an account the audit trail names is deactivated, never deleted.

    Deleting it would have to change append-only history rows (their user column), which the database
    refuses (until now an HTTP 500): the confirmation page lists what names the account and offers
    deactivation, which keeps the account — and so the record of who did what — and ends its logins.
    """

    actions = ["deactivate_accounts"]

    def get_deleted_objects(self, objs, request):  # noqa: ANN001, ANN201
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        # Records that name the account and that the admin never deletes (clinical, import, export).
        protected += [f"{name} records naming the account (the admin never deletes them)" for name in sorted(perms_needed)]
        for user in objs:
            entries = account_history_entries(user=user)
            if entries:
                protected.append(
                    f"{entries} audit trail entr{'y' if entries == 1 else 'ies'} naming {user.get_username()} "
                    "(the history of records, which is append-only)"
                )
        return deleted, counts, set(), protected

    def get_urls(self):  # noqa: ANN201
        deactivate = path(
            "<id>/deactivate/", self.admin_site.admin_view(self.deactivate_view), name="auth_user_deactivate"
        )
        return [deactivate, *super().get_urls()]

    def deactivate_view(self, request, id):  # noqa: ANN001, ANN201, A002
        user = self.get_object(request, id)
        if user is None:
            raise Http404("No such account.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        user_deactivate(user=user)
        self.log_change(request, user, "Deactivated (instead of deleted: the audit trail names the account).")
        messages.success(request, f"{user.get_username()} is deactivated: the account can no longer log in, and the audit trail keeps naming it.")
        return redirect(reverse("admin:auth_user_change", args=[user.pk]))

    @admin.action(description="Deactivate the selected accounts (no more logins; the audit trail keeps naming them)")
    def deactivate_accounts(self, request, queryset):  # noqa: ANN001, ANN201
        if not self.has_change_permission(request):
            raise PermissionDenied
        for user in queryset:
            user_deactivate(user=user)
            self.log_change(request, user, "Deactivated.")
        messages.success(request, f"{queryset.count()} account(s) deactivated.")
