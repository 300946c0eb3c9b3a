"""Shared by the interop tests."""

import pytest


@pytest.fixture(autouse=True)
def deidentification_key(settings):
    """De-identified exports refuse to run without a key of their own (vertebro.interop.deidentify)."""
    settings.DEID_SECRET = "interop-tests-key-0123456789"
