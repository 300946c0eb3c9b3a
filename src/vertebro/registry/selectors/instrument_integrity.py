"""`vertebro db check` for instrument responses: stored scores equal the definitions' scoring.

A score row is derived data: the service writes it from the answers with the definition's scorer. A
row changed behind the service's back (SQL console, an old import, a changed definition) would make
the analysis disagree with the answers, so every response is re-scored here and compared.
"""

from __future__ import annotations

import math

from django.db.models import F

from ...domain.errors import DomainError
from ...domain.instruments import INSTRUMENTS
from ...domain.instruments.analgesics import entry_mme
from ...domain.timepoints import BY_CODE, UNSCHEDULED
from ..models import AnalgesicEntry, InstrumentResponse
from ..services.instruments import stored_entries_as_answers
from .integrity import IntegrityFinding, _mismatched

_TOLERANCE = 1e-9


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def _score_mismatches() -> list[str]:
    wrong = []
    responses = InstrumentResponse.objects.filter(missing_reason__isnull=True).prefetch_related("scores", "analgesic_entries")
    for response in responses.iterator(chunk_size=2000):
        definition = INSTRUMENTS[response.instrument]
        stored = {score.measure: score.value for score in response.scores.all()}
        try:
            expected = definition.score(stored_entries_as_answers(response)).values
        except DomainError as error:
            wrong.append(f"response {response.pk}: stored answers no longer parse ({error})")
            continue
        if set(stored) != {m.code for m in definition.measures}:
            wrong.append(f"response {response.pk}: scores {sorted(stored)} instead of one per measure")
            continue
        for code, value in expected.items():
            if not _same(stored[code], value):
                wrong.append(f"response {response.pk} {code}: stored {stored[code]}, scoring gives {value}")
    return wrong


def _mme_mismatches() -> list[str]:
    wrong = []
    for entry in AnalgesicEntry.objects.all().iterator(chunk_size=2000):
        values = {key: getattr(entry, key) for key in ("drug", "dose", "unit", "route", "doses_per_day")}
        expected, _why = entry_mme(values)
        if not _same(entry.mme_per_day, expected):
            wrong.append(f"analgesic entry {entry.pk}: stored {entry.mme_per_day} MME/day, CDC 2022 gives {expected}")
    return wrong


def _missing_with_data() -> list[int]:
    missing = InstrumentResponse.objects.filter(missing_reason__isnull=False)
    with_children = missing.filter(scores__isnull=False) | missing.filter(analgesic_entries__isnull=False)
    return sorted({*with_children.values_list("id", flat=True), *(r.pk for r in missing.only("id", "answers") if r.answers)})


def _outside_window() -> list[int]:
    outside = []
    rows = InstrumentResponse.objects.filter(assessed_on__isnull=False).exclude(timepoint=UNSCHEDULED)
    for pk, timepoint, assessed_on, performed_on in rows.values_list("id", "timepoint", "assessed_on", "procedure__performed_on"):
        if not BY_CODE[timepoint].contains((assessed_on - performed_on).days):
            outside.append(pk)
    return outside


def _finding(check: str, problems: list) -> IntegrityFinding:  # noqa: ANN001
    return IntegrityFinding(check, len(problems), "error", "; ".join(str(p) for p in problems[:3]))


def instrument_findings() -> list[IntegrityFinding]:
    """The instrument checks of ``vertebro db check`` (all of severity ``error``)."""
    return [
        _mismatched(
            InstrumentResponse.objects.exclude(patient_id=F("procedure__patient_id")),
            "instrument responses belong to their procedure's patient",
        ),
        _finding("stored instrument scores equal the definitions' scoring of the stored answers", _score_mismatches()),
        _finding("analgesic entries' MME/day equal the CDC 2022 conversion", _mme_mismatches()),
        _finding("instruments recorded as missing hold no answers, scores or entries", _missing_with_data()),
        _finding("every instrument response lies in its timepoint's window", _outside_window()),
    ]
