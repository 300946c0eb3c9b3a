"""Start Django from plain Python (the CLI, scripts, benchmarks)."""

from __future__ import annotations

import os


def setup_django() -> None:
    """Configure Django once with vertebro's settings (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vertebro.registry.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
