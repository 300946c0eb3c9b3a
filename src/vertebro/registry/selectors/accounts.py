"""Reads about staff accounts."""

from __future__ import annotations

from django.apps import apps


def account_history_entries(*, user) -> int:  # noqa: ANN001
    """How many history rows (of every record kind, sites and roles included) name ``user`` as the
    person who saved them: an account they name cannot be deleted, only deactivated."""
    registry = apps.get_app_config("registry")
    return sum(
        model.objects.filter(history_user_id=user.pk).count()
        for model in registry.get_models()
        if model.__name__.startswith("Historical")
    )
