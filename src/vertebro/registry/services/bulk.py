"""Bulk writes that keep the history complete: one history row per created or changed record."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history


@transaction.atomic
def records_bulk_create(*, records: Sequence[models.Model], user=None, reason: str | None = None, batch_size: int = 2000) -> list:  # noqa: ANN001
    """Create many records of one model, each with its "created" history row."""
    if not records:
        return []
    for record in records:
        record.full_clean(validate_unique=False)
    model = type(records[0])
    return bulk_create_with_history(
        list(records), model, batch_size=batch_size, default_user=user, default_change_reason=reason
    )


@transaction.atomic
def records_bulk_update(
    *, records: Sequence[models.Model], fields: list[str], user=None, reason: str | None = None, batch_size: int = 2000  # noqa: ANN001
) -> int:
    """Update ``fields`` of many records of one model, each with a "changed" history row holding the
    new values (the previous history row of the record holds the old ones); versions grow by one."""
    if not records:
        return 0
    for record in records:
        record.version += 1
        record.full_clean(validate_unique=False)
    model = type(records[0])
    return bulk_update_with_history(
        list(records), model, [*fields, "version"], batch_size=batch_size, default_user=user, default_change_reason=reason
    )
