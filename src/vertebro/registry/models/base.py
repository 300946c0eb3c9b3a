"""What every registry record shares: history, an optimistic-locking version and its import."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ...domain.vocabulary import Vocabulary


def in_vocabulary(field: str, vocabulary: Vocabulary, *, nullable: bool = False) -> Q:
    """A CHECK condition that keeps ``field`` inside a domain vocabulary (NULL allowed if nullable).

    Written as ``field = 'a' OR field = 'b' …`` rather than ``field IN (…)``: SQLite builds a
    temporary index for an IN list each time it evaluates the check, which made every insert about
    five times slower in a bulk-load measurement (1M rows: 5.4 s against 1.1 s).
    """
    condition = Q()
    for code in vocabulary.codes:
        condition |= Q(**{field: code})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return condition


def check(name: str, condition: Q, message: str) -> models.CheckConstraint:
    """A named CHECK constraint whose violation reads as the domain rule it enforces."""
    return models.CheckConstraint(condition=condition, name=name, violation_error_message=message)


class RegistryRecord(models.Model):
    """Abstract base of clinical records.

    ``version`` grows by one on every save through a service; a save that carries a stale version is
    refused (optimistic locking), so two people editing one record never overwrite each other.
    ``import_batch`` names the import that created the row: that import record is its creation audit.
    """

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not indexed: nothing looks rows up by their import, and an import batch is never deleted (it is
    # the rows' audit record), so the index would only cost every bulk import one more B-tree per table.
    import_batch = models.ForeignKey(
        "registry.ImportBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
