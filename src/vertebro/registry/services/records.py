"""Saving, updating and deleting any registry record: validation, history attribution and
optimistic locking in one place, so every entity service behaves the same."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict

from ...errors import VertebroError


class EditConflict(VertebroError):
    """The record changed since the editor loaded it; their save is refused, nothing is overwritten.

    Attributes
    ----------
    current : Model
        The record as it is now in the database (someone else's version).
    attempted : dict
        The changes the refused save carried.
    """

    def __init__(self, *, current: models.Model, attempted: dict[str, Any], expected_version: int):
        self.current = current
        self.attempted = attempted
        self.expected_version = expected_version
        super().__init__(
            f"{current._meta.verbose_name} {current.pk} was changed by someone else "
            f"(version {current.version}, you edited version {expected_version}); reload it and apply your change again"
        )


def record_save(*, record: models.Model, user=None, reason: str | None = None) -> models.Model:  # noqa: ANN001
    """Validate (fields, choices and every CHECK constraint) and save, crediting ``user`` in the history."""
    record.full_clean()
    record._history_user = user
    if reason:
        record._change_reason = reason
    record.save()
    return record


@transaction.atomic
def record_update(
    *, record: models.Model, expected_version: int, changes: dict[str, Any], user=None, reason: str | None = None  # noqa: ANN001
) -> models.Model:
    """Apply ``changes`` to ``record`` if nobody saved it since ``expected_version``.

    Raises
    ------
    EditConflict
        When the stored version differs from ``expected_version``.
    django.core.exceptions.ValidationError
        When the changed record breaks a rule; nothing is written.
    """
    current = type(record).objects.select_for_update().get(pk=record.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, attempted=changes, expected_version=expected_version)
    for field, value in changes.items():
        setattr(current, field, value)
    current.version += 1
    return record_save(record=current, user=user, reason=reason)


@transaction.atomic
def record_delete(*, record: models.Model, user=None, reason: str | None = None) -> None:  # noqa: ANN001
    """Delete a record; its history keeps a deletion row with who and why."""
    record._history_user = user
    if reason:
        record._change_reason = reason
    record.delete()


def record_values(record: models.Model) -> dict[str, Any]:
    """The editable field values of a record (for conflict pages and history diffs)."""
    return model_to_dict(record)
