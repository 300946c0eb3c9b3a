"""Voiding a record entered in error (issue 13): a soft delete that keeps the row and its history.

A voided row stays in the database (and its history says who voided it, when and why) but no
analysis, export, worklist or dashboard counts it: every reader filters through ``.active()``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .base import check


class VoidableQuerySet(models.QuerySet):
    def active(self) -> VoidableQuerySet:
        """The rows not voided: what analysis, exports, the worklist and the dashboard read."""
        return self.filter(voided_at__isnull=True)

    def voided(self) -> VoidableQuerySet:
        return self.filter(voided_at__isnull=False)


class Voidable(models.Model):
    """Abstract: when, by whom and why a record was voided (all three or none)."""

    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        editable=False, db_index=False,
    )
    void_reason = models.TextField(blank=True, default="", editable=False)

    objects = VoidableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


def void_constraints(prefix: str) -> list[models.CheckConstraint]:
    """The CHECK that a void names its time, its author and a non-blank reason, or none of them."""
    return [
        check(
            f"{prefix}_void_complete",
            Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
            | (Q(voided_at__isnull=False, voided_by__isnull=False) & ~Q(void_reason="")),
            "a voided record names when, by whom and why (a non-blank reason); an active one none of them",
        )
    ]


def active_sql(alias: str) -> str:
    """The raw-SQL twin of ``.active()`` for the selectors that aggregate in SQL (worklist, dashboard)."""
    return f"{alias}.voided_at IS NULL"
