"""The flat format: one row per pain assessment, the shape statisticians and spreadsheets want.

Rows refer to each patient's index (first) procedure. ``age`` is whole years at that procedure,
``source`` (optional) says who put the score in (``ASSESSMENT_SOURCE``: staff, import, fhir, api, patient),
``days`` is days from it (negative before), ``recurrent_pain`` is 0/1 and empty for baseline.
"""

from __future__ import annotations

#: Required columns, in this order, at the start of every flat file.
FLAT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "site",
    "sex",
    "age",
    "etiology",
    "procedure_date",
    "timepoint",
    "days",
    "vps",
    "venue",
    "recurrent_pain",
)
#: Optional columns that may follow, in this order when present.
FLAT_OPTIONAL_COLUMNS: tuple[str, ...] = ("assessed_on", "levels", "cement_ml")
#: Optional column of a patient×timepoint row without a score: why there is none (a code of
#: ``vocabulary.MISSING_REASON``; "not yet due" is never written, it follows from the dates). The
#: analysis's flow counts these rows (issue 12); the import takes scores only and refuses them. Kept out
#: of FLAT_OPTIONAL_COLUMNS: a file of scores alone (the synthetic cohort) does not carry it.
MISSING_REASON_COLUMN = "missing_reason"
#: Who put each score in (issue 9), optional: the registry's exports write it, a file may leave it out
#: (imported scores then take the importer's source). Not written by `vertebro synth`.
SOURCE_COLUMN = "source"
#: What the statistics need at the least (a de-identified export drops the rest).
ANALYSIS_REQUIRED_COLUMNS: tuple[str, ...] = ("patient_id", "sex", "age", "etiology", "timepoint", "vps")


def wrong_separator(header: list[str]) -> str | None:
    """How a header read as one column shows another separator than the comma (``"';'"``, ``"tabs"``,
    ``"'|'"``: spreadsheets in comma-decimal locales save CSV with semicolons), or None."""
    if len(header) != 1:
        return None
    mark = next((mark for mark in (";", "\t", "|") if mark in str(header[0])), None)
    return None if mark is None else {"\t": "tabs"}.get(mark, f"'{mark}'")
