"""Who may do what, and where.

A user holds one role at each site they belong to (``StaffMembership``), as REDCap's data access groups
do. Everything a user sees is bounded by those sites: a record of another site is "not found" (404), so
guessing URLs reveals nothing; a visible record the role may not change is "forbidden" (403).

- **admin**: everything at the site (records, overrides, analysis); Django superusers are admin everywhere.
- **investigator**: all records of the site, eligibility overrides, analysis.
- **coordinator**: creates and edits the site's records.
- **analyst**: reads de-identified records only: never names, MRNs or dates of birth, and clinical dates
  shown as days from the index procedure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.functional import SimpleLazyObject

from ..models import ROLE, Site, StaffMembership

if TYPE_CHECKING:
    from django.http import HttpRequest

EDIT_ROLES = frozenset({"admin", "investigator", "coordinator"})
PHI_ROLES = frozenset({"admin", "investigator", "coordinator"})
OVERRIDE_ROLES = frozenset({"admin", "investigator"})
#: Roles that download the analysis report and exports (coordinators record data; they do not take it out).
ANALYSIS_ROLES = frozenset({"admin", "investigator", "analyst"})


@dataclass(frozen=True)
class SiteRole:
    site_id: int
    site_code: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLE.label(self.role)


@dataclass(frozen=True)
class Access:
    """One user's roles, by site.

    Attributes
    ----------
    memberships : tuple of SiteRole
        The sites the user belongs to (every site, as admin, for a superuser), ordered by site code.
    """

    memberships: tuple[SiteRole, ...]

    def role(self, site_id: int) -> str | None:
        for membership in self.memberships:
            if membership.site_id == site_id:
                return membership.role
        return None

    @property
    def site_ids(self) -> tuple[int, ...]:
        return tuple(m.site_id for m in self.memberships)

    def _sites_with(self, roles: frozenset[str]) -> tuple[int, ...]:
        return tuple(m.site_id for m in self.memberships if m.role in roles)

    @property
    def edit_site_ids(self) -> tuple[int, ...]:
        return self._sites_with(EDIT_ROLES)

    @property
    def phi_site_ids(self) -> tuple[int, ...]:
        return self._sites_with(PHI_ROLES)

    @property
    def analysis_site_ids(self) -> tuple[int, ...]:
        return self._sites_with(ANALYSIS_ROLES)

    @property
    def analysis_memberships(self) -> tuple[SiteRole, ...]:
        """The sites whose report and exports the user may download."""
        return tuple(m for m in self.memberships if m.role in ANALYSIS_ROLES)

    @property
    def can_download_anywhere(self) -> bool:
        return bool(self.analysis_site_ids)

    def can_edit(self, site_id: int) -> bool:
        return self.role(site_id) in EDIT_ROLES

    def sees_phi(self, site_id: int) -> bool:
        return self.role(site_id) in PHI_ROLES

    def can_override(self, site_id: int) -> bool:
        return self.role(site_id) in OVERRIDE_ROLES

    @property
    def can_edit_anywhere(self) -> bool:
        return bool(self.edit_site_ids)

    @property
    def sees_phi_anywhere(self) -> bool:
        return bool(self.phi_site_ids)

    @property
    def has_sites(self) -> bool:
        return bool(self.memberships)


def access_of_user(user) -> Access:  # noqa: ANN001
    """The roles of ``user`` by site (no sites for an anonymous or inactive user)."""
    if not (user and user.is_authenticated and user.is_active):
        return Access(memberships=())
    if user.is_superuser:
        rows = [(site.pk, site.code, "admin") for site in Site.objects.order_by("code")]
    else:
        rows = list(
            StaffMembership.objects.filter(user=user).order_by("site__code").values_list("site_id", "site__code", "role")
        )
    return Access(memberships=tuple(SiteRole(site_id, code, role) for site_id, code, role in rows))


def access_for(request: HttpRequest) -> Access:
    """The requesting user's access, computed once per request."""
    cached = getattr(request, "_vertebro_access", None)
    if cached is None:
        cached = access_of_user(request.user)
        request._vertebro_access = cached
    return cached


def access_context(request: HttpRequest) -> dict[str, object]:
    """Template context processor: ``access`` (lazy, so pages that never look do not query)."""
    return {"access": SimpleLazyObject(lambda: access_for(request))}


def visible(request: HttpRequest, queryset: QuerySet, *, site_field: str) -> QuerySet:
    """Restrict ``queryset`` to the requesting user's sites; ``site_field`` leads from the model to its site id."""
    return queryset.filter(**{f"{site_field}__in": access_for(request).site_ids})


def visible_or_404(request: HttpRequest, queryset: QuerySet, *, site_field: str, pk: int) -> Model:
    """One record of the user's sites, or 404 — the same answer whether it exists elsewhere or not at all."""
    return get_object_or_404(visible(request, queryset, site_field=site_field), pk=pk)


def require_edit(request: HttpRequest, site_id: int) -> None:
    if not access_for(request).can_edit(site_id):
        raise PermissionDenied("Your role at this site does not allow changing records.")


def require_override(request: HttpRequest, site_id: int) -> None:
    if not access_for(request).can_override(site_id):
        raise PermissionDenied("Only an investigator or an administrator of this site may override eligibility.")


def require_any_edit(request: HttpRequest) -> None:
    if not access_for(request).can_edit_anywhere:
        raise PermissionDenied("Your role does not allow creating records.")
