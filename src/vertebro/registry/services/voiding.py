"""Voiding records entered in error, and restoring them (issue 13).

A void is a soft delete: the row stays, its history gains a row saying who voided it, when and why,
and every reader that counts or exports skips it (``.active()``). Coordinators, investigators and
admins of the record's site may void; only investigators and admins restore. Voiding a procedure
voids its active pain scores and follow-ups with it, and restoring it brings back exactly those.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from ...domain.errors import DomainError
from ...errors import VertebroError
from ..models import FollowUp, Fracture, PainAssessment, Procedure, StaffMembership
from .records import EditConflict, record_save

VOID_ROLES = frozenset({"admin", "investigator", "coordinator"})
RESTORE_ROLES = frozenset({"admin", "investigator"})
#: history_change_reason holds 100 characters; the full reason is kept in ``void_reason``.
CHANGE_REASON_MAX = 100


class VoidNotAllowed(VertebroError):
    """The user's role at the record's site may not void (or restore) it."""


def _role_at(user, site_id: int) -> str | None:  # noqa: ANN001
    if user is not None and getattr(user, "is_superuser", False):
        return "admin"
    membership = StaffMembership.objects.filter(user=user, site_id=site_id).first()
    return membership.role if membership else None


def _check_role(*, record: models.Model, user, roles: frozenset[str], action: str) -> None:  # noqa: ANN001
    role = _role_at(user, record.patient.site_id)
    if role not in roles:
        allowed = ", ".join(sorted(roles))
        raise VoidNotAllowed(
            f"{user} ({role or 'no role'} at site {record.patient.site.code}) may not {action} "
            f"{record._meta.verbose_name} {record.pk}: only {allowed} may"
        )


def _change_reason(action: str, reason: str) -> str:
    text = f"{action}: {reason}"
    return text if len(text) <= CHANGE_REASON_MAX else text[: CHANGE_REASON_MAX - 1] + "…"


def _locked(record: models.Model, version: int) -> models.Model:
    current = type(record).objects.select_for_update().select_related("patient__site").get(pk=record.pk)
    if current.version != version:
        raise EditConflict(current=current, attempted={"voided": not current.is_voided}, expected_version=version)
    return current


def _mark_voided(record: models.Model, *, user, reason: str, when) -> models.Model:  # noqa: ANN001
    record.voided_at = when
    record.voided_by = user
    record.void_reason = reason
    record.version += 1
    return record_save(record=record, user=user, reason=_change_reason("voided", reason))


def _mark_restored(record: models.Model, *, user, reason: str) -> models.Model:  # noqa: ANN001
    record.voided_at = None
    record.voided_by = None
    record.void_reason = ""
    record.version += 1
    return record_save(record=record, user=user, reason=_change_reason("restored", reason) if reason else "restored")


def _clean_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise DomainError("void_reason", reason, "voiding a record needs a reason (e.g. 'duplicate entry')")
    return cleaned


@transaction.atomic
def _void(*, record: models.Model, user, reason: str, version: int) -> models.Model:  # noqa: ANN001
    reason = _clean_reason(reason)
    current = _locked(record, version)
    _check_role(record=current, user=user, roles=VOID_ROLES, action="void")
    if current.is_voided:
        raise DomainError("voided_at", current.voided_at, f"{current._meta.verbose_name} {current.pk} is already voided")
    return _mark_voided(current, user=user, reason=reason, when=timezone.now())


@transaction.atomic
def _restore(*, record: models.Model, user, version: int, reason: str = "") -> models.Model:  # noqa: ANN001
    current = _locked(record, version)
    _check_role(record=current, user=user, roles=RESTORE_ROLES, action="restore")
    if not current.is_voided:
        raise DomainError("voided_at", None, f"{current._meta.verbose_name} {current.pk} is not voided")
    return _mark_restored(current, user=user, reason=(reason or "").strip())


@transaction.atomic
def fracture_void(*, record: Fracture, user, reason: str, version: int) -> Fracture:  # noqa: ANN001
    """Void a fracture entered in error. Refused while an active procedure treats it: void that first."""
    treating = Procedure.objects.active().filter(treated_levels__fracture=record).order_by("performed_on").first()
    if treating is not None:
        raise DomainError(
            "fracture", record.pk,
            f"fracture {record} is treated by the procedure of {treating.performed_on} (id {treating.pk}); "
            "void that procedure first, or correct the procedure's levels",
        )
    return _void(record=record, user=user, reason=reason, version=version)


def fracture_restore(*, record: Fracture, user, version: int, reason: str = "") -> Fracture:  # noqa: ANN001
    return _restore(record=record, user=user, version=version, reason=reason)


@transaction.atomic
def procedure_void(*, record: Procedure, user, reason: str, version: int) -> Procedure:  # noqa: ANN001
    """Void a procedure and, with it, its active pain scores and follow-ups (same time, author, reason)."""
    procedure = _void(record=record, user=user, reason=reason, version=version)
    for dependent in (
        *PainAssessment.objects.active().filter(procedure=procedure).select_for_update(),
        *FollowUp.objects.active().filter(procedure=procedure).select_for_update(),
    ):
        _mark_voided(dependent, user=user, reason=procedure.void_reason, when=procedure.voided_at)
    return procedure


@transaction.atomic
def procedure_restore(*, record: Procedure, user, version: int, reason: str = "") -> Procedure:  # noqa: ANN001
    """Restore a procedure and exactly the scores and follow-ups its void took with it (voided at the
    same instant): ones voided on their own before stay voided."""
    voided_at = type(record).objects.get(pk=record.pk).voided_at
    procedure = _restore(record=record, user=user, version=version, reason=reason)
    for dependent in (
        *PainAssessment.objects.filter(procedure=procedure, voided_at=voided_at).select_for_update(),
        *FollowUp.objects.filter(procedure=procedure, voided_at=voided_at).select_for_update(),
    ):
        _mark_restored(dependent, user=user, reason=reason)
    return procedure


def follow_up_void(*, record: FollowUp, user, reason: str, version: int) -> FollowUp:  # noqa: ANN001
    return _void(record=record, user=user, reason=reason, version=version)


def follow_up_restore(*, record: FollowUp, user, version: int, reason: str = "") -> FollowUp:  # noqa: ANN001
    return _restore(record=record, user=user, version=version, reason=reason)


def pain_assessment_void(*, record: PainAssessment, user, reason: str, version: int) -> PainAssessment:  # noqa: ANN001
    return _void(record=record, user=user, reason=reason, version=version)


def pain_assessment_restore(*, record: PainAssessment, user, version: int, reason: str = "") -> PainAssessment:  # noqa: ANN001
    """Restore a score; refused (nothing written) if another active score now holds its timepoint."""
    return _restore(record=record, user=user, version=version, reason=reason)
