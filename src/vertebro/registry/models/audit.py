"""Audit records that are not row history: imports and exports (21 CFR Part 11 practice)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ...domain.vocabulary import Vocabulary
from .base import check, in_vocabulary

IMPORT_STATUS = Vocabulary(
    "import status",
    (
        ("running", "Running"),
        ("committed", "Committed"),
        ("rejected", "Rejected"),
        ("dry_run", "Dry run"),
        ("failed", "Failed"),
    ),
)


class ImportBatch(models.Model):
    """One import of a file. It is the creation audit of every row it creates (rows point to it);
    rows it changes get history rows with old and new values.

    Append-only by database trigger, as a guarded state machine (migration 0007): the row is written
    ``running`` and committed before the import reads or writes anything, so an import that is killed
    still shows; it is then completed exactly once — ``committed``, ``rejected`` (problems found,
    nothing written), ``dry_run`` (what would change, nothing written) or ``failed`` (stopped on an
    error, nothing written) with its finish time and counts — and never changed or deleted after.
    """

    file_name = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_format = models.CharField(max_length=16)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    os_user = models.CharField(max_length=100, blank=True, default="", help_text="Who ran the command line import.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=IMPORT_STATUS.choices(), default="running")
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "import batches"
        constraints = [check("import_status_known", in_vocabulary("status", IMPORT_STATUS), "unknown import status")]

    def __str__(self) -> str:
        return f"import #{self.pk} of {self.file_name}"


class ExportLog(models.Model):
    """Every export is logged before its first byte is written: who (account and operating-system
    user), when, what format, identified or not, where, how many rows. Append-only by database
    trigger (migration 0007): no row can be changed or deleted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    os_user = models.CharField(max_length=100, blank=True, default="")
    exported_at = models.DateTimeField(auto_now_add=True)
    file_format = models.CharField(max_length=16)
    deidentified = models.BooleanField()
    destination = models.CharField(max_length=500)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-exported_at"]
