"""An import's audit record: started before anything is read or written, completed exactly once.

The database enforces the same (``migrations/_append_only``): an :class:`ImportBatch` row goes from
``running`` to a final status once, with its finish time and counts, and is never changed or deleted
after; so the record of an import nobody completed (the process was killed) stays ``running``, where
``vertebro db check`` and the admin show it.
"""

from __future__ import annotations

from django.utils import timezone

from ..models import ImportBatch

FINAL_STATUSES = ("committed", "rejected", "dry_run", "failed")
COUNTS = ("rows_read", "rows_created", "rows_updated", "rows_unchanged", "rows_skipped")


def import_batch_start(*, file_name: str, file_sha256: str, file_format: str, user=None, os_user: str = "") -> ImportBatch:  # noqa: ANN001
    """Record that an import of ``file_name`` begins (call it outside the import's write transaction,
    so the record is committed whatever happens to the import)."""
    batch = ImportBatch(file_name=file_name[-500:], file_sha256=file_sha256, file_format=file_format, user=user, os_user=os_user, status="running")
    batch.full_clean()
    batch.save()
    return batch


def import_batch_finish(*, batch: ImportBatch, status: str, **counts: int) -> ImportBatch:
    """Complete a ``running`` import record: its final ``status``, the finish time and ``counts``
    (``rows_read``, ``rows_created``, ``rows_updated``, ``rows_unchanged``, ``rows_skipped``)."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"an import ends {', '.join(FINAL_STATUSES)}, not {status!r}")
    if batch.status != "running":
        raise ValueError(f"import #{batch.pk} is {batch.status} already: an import record is completed once")
    unknown = set(counts) - set(COUNTS)
    if unknown:
        raise ValueError(f"not import counts: {', '.join(sorted(unknown))}")
    for name, value in counts.items():
        setattr(batch, name, value)
    batch.status = status
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "finished_at", *counts])
    return batch
