"""What may identify a patient, field by field (HIPAA Safe Harbor, DESIGN.md §6).

Two kinds, both kept from de-identified readers (analysts) in pages, history and exports:

- **identifiers** (:data:`IDENTIFIERS`): the patient's name, medical record number, date of birth and
  contact address (email, mobile number: issue 9's invitations use them, nothing else shows them);
- **free text** (:data:`POSSIBLY_IDENTIFYING`): what people type in a text box — an override reason,
  a complication note, the primary tumour, the operator — may hold a name, a date, a place or a
  record number, so it is treated as possibly identifying, as REDCap treats fields marked
  "Identifier?". A de-identified reader is told the field holds text, never the text.

Keys are record kinds (the model's name in lower case); values are field names. A new free-text
field belongs here: ``tests/domain/test_privacy.py`` fails for any text field of a clinical model
that is in neither list.
"""

from __future__ import annotations

IDENTIFIERS: dict[str, tuple[str, ...]] = {"patient": ("mrn", "name", "birth_date", "email", "mobile")}
POSSIBLY_IDENTIFYING: dict[str, tuple[str, ...]] = {
    "fracture": ("primary_site", "void_reason"),
    "procedure": ("operator", "void_reason"),
    "complication": ("notes",),
    "eligibilityassessment": ("override_reason",),
    "missingdata": ("note",),
    # Why a record was voided (issue 13) is typed by staff like any other reason.
    "followup": ("void_reason",),
    "painassessment": ("void_reason",),
}
#: What a de-identified reader sees instead of free text.
FREE_TEXT_HIDDEN = "(free text hidden: it may identify the patient)"


def hidden_fields(kind: str) -> tuple[str, ...]:
    """The fields of record kind ``kind`` a de-identified reader never sees."""
    return IDENTIFIERS.get(kind, ()) + POSSIBLY_IDENTIFYING.get(kind, ())


def is_free_text(kind: str, field: str) -> bool:
    return field in POSSIBLY_IDENTIFYING.get(kind, ())
