"""Every text field a person types into is classified: an identifier, or free text that may identify
(kept from de-identified readers), or one of the few plain codes listed here."""

from __future__ import annotations

import pytest
from django.db import models

from vertebro.domain.privacy import IDENTIFIERS, POSSIBLY_IDENTIFYING, hidden_fields

#: Text fields that are neither: the study id (replaced by a keyed hash in de-identified exports,
#: shown to every role in the app as the record's name).
PLAIN_TEXT = {("patient", "study_id")}


@pytest.mark.django_db
def test_every_free_text_field_of_a_clinical_record_is_classified():
    from django.apps import apps

    from vertebro.registry.models.base import RegistryRecord

    unclassified = []
    for model in apps.get_app_config("registry").get_models():
        if not issubclass(model, RegistryRecord):
            continue
        kind = model._meta.model_name
        for field in model._meta.concrete_fields:
            typed = isinstance(field, (models.CharField, models.TextField)) and not field.choices
            if typed and field.name not in hidden_fields(kind) and (kind, field.name) not in PLAIN_TEXT:
                unclassified.append(f"{kind}.{field.name}")
    assert not unclassified, f"classify these text fields in domain/privacy.py: {unclassified}"


def test_the_free_text_fields_the_issue_names_are_possibly_identifying():
    named = {("eligibilityassessment", "override_reason"), ("complication", "notes"), ("fracture", "primary_site"), ("procedure", "operator")}
    assert named <= {(kind, f) for kind, fields in POSSIBLY_IDENTIFYING.items() for f in fields}
    assert set(IDENTIFIERS["patient"]) == {"mrn", "name", "birth_date", "email", "mobile"}
