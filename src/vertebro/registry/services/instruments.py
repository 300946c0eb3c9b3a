"""Writes of outcome instrument responses (issue 10): answers checked and scored by the definitions.

Every write parses the answers with the instrument's definition (an answer an item refuses raises a
:class:`DomainError` naming the item, the value and the allowed answers), derives the scores with the
definition's scoring and stores response, scores and analgesic entries in one transaction. Nothing
here names an instrument: all of it reads :data:`vertebro.domain.instruments.INSTRUMENTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction

from ...domain import rules
from ...domain.errors import DomainError
from ...domain.instruments import INSTRUMENTS, Instrument
from ...domain.instruments.analgesics import entry_mme
from ...domain.timepoints import UNSCHEDULED
from ...domain.vocabulary import ASSESSMENT_SOURCE, MISSING_REASON
from ..models import AnalgesicEntry, InstrumentResponse, InstrumentScore, Procedure
from .clinical import assessment_timepoint
from .records import EditConflict, record_delete, record_save, record_update

__all__ = [
    "instrument_definition",
    "instrument_missing_record",
    "instrument_response_delete",
    "instrument_response_record",
    "instrument_response_update",
    "parse_instrument_answers",
]


def instrument_definition(code: str) -> Instrument:
    """The definition of instrument ``code``, or a DomainError listing the known ones."""
    folded = str(code).strip().casefold()
    if folded not in INSTRUMENTS:
        raise DomainError("instrument", code, f"instrument must be one of {', '.join(INSTRUMENTS)}")
    return INSTRUMENTS[folded]


def parse_instrument_answers(definition: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The stored answers, or a DomainError naming the item (and the entry of a repeating instrument).

    At least one item must be answered: an assessment with no answer at all is recorded as missing
    with a reason (:func:`instrument_missing_record`), not as an empty response.
    """
    if definition.repeating:
        entries = answers.get("entries") or []
        parsed_entries = []
        for position, entry in enumerate(entries, start=1):
            try:
                parsed = definition.parse_answers({"entries": [entry]})["entries"][0]
            except DomainError as error:
                raise DomainError(f"entry {position}: {error.field}", error.value, error.rule) from error
            if all(value is None for value in parsed.values()):
                continue  # a blank row of a form
            if parsed.get(definition.items[0].code) is None:
                raise DomainError(f"entry {position}: {definition.items[0].code}", None, f"every entry names its {definition.items[0].title.lower()}")
            parsed_entries.append(parsed)
        if not parsed_entries:
            raise DomainError("entries", [], f"{definition.name} needs at least one entry (or 'none'); record a missing assessment with its reason instead")
        return {"entries": parsed_entries}
    parsed = definition.parse_answers(answers)
    if all(value is None for value in parsed.values()):
        raise DomainError("answers", {}, f"no item of {definition.name} is answered; record a missing assessment with its reason instead")
    return parsed


def _check_timepoint_collected(definition: Instrument, timepoint: str) -> None:
    if timepoint != UNSCHEDULED and timepoint not in definition.timepoints:
        raise DomainError("timepoint", timepoint, f"{definition.name} is collected at {', '.join(definition.timepoints)}")


def _check_free(procedure: Procedure, definition: Instrument, timepoint: str, *, exclude: int | None = None) -> None:
    if timepoint == UNSCHEDULED:
        return
    taken = InstrumentResponse.objects.filter(procedure=procedure, instrument=definition.code, timepoint=timepoint)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise DomainError("timepoint", timepoint, f"this procedure already has {definition.name} at that timepoint; edit it instead")


def _write_derived(response: InstrumentResponse, definition: Instrument, parsed: Mapping[str, Any], user) -> None:  # noqa: ANN001
    """Create or update the response's score rows and analgesic entries from its parsed answers."""
    result = definition.scorer(parsed)
    reason = "; ".join(result.notes) or None
    existing = {score.measure: score for score in InstrumentScore.objects.filter(response=response)}
    for measure in definition.measures:
        for_measure = measure.check(result.values.get(measure.code))
        current = existing.get(measure.code)
        if current is None:
            record_save(record=InstrumentScore(response=response, measure=measure.code, value=for_measure), user=user, reason=reason)
        elif current.value != for_measure:
            record_update(record=current, expected_version=current.version, changes={"value": for_measure}, user=user, reason=reason)
    if not definition.repeating:
        return
    entries = list(parsed["entries"])
    stored = {entry.position: entry for entry in AnalgesicEntry.objects.filter(response=response)}
    for position, entry in enumerate(entries, start=1):
        mme, _why = entry_mme(entry)
        values = {**{key: entry.get(key) for key in ("drug", "dose", "unit", "route", "doses_per_day")}, "mme_per_day": mme}
        current = stored.get(position)
        if current is None:
            record_save(record=AnalgesicEntry(response=response, position=position, **values), user=user)
        else:
            changes = {key: value for key, value in values.items() if getattr(current, key) != value}
            if changes:
                record_update(record=current, expected_version=current.version, changes=changes, user=user)
    for position, entry in stored.items():
        if position > len(entries):
            record_delete(record=entry, user=user, reason="entry removed from the response")


@transaction.atomic
def instrument_response_record(
    *,
    procedure: Procedure,
    instrument: str,
    assessed_on: date,
    answers: Mapping[str, Any],
    timepoint: str | None = None,
    after_procedure: bool | None = None,
    source: str = "staff",
    user=None,  # noqa: ANN001
) -> InstrumentResponse:
    """Record one completed instrument: its answers, its derived scores and (analgesics) its entries.

    ``answers`` maps item codes to answers as :meth:`Item.parse` accepts them (a repeating instrument:
    ``{"entries": [{item: answer, ...}, ...]}``). The timepoint is derived from the procedure date
    by the same windows as a pain score unless given, and checked either way.

    Raises
    ------
    DomainError
        An unknown instrument, an answer an item refuses (the item and rule named), no item answered,
        a date outside every window, a timepoint the instrument is not collected at, or a second
        response at a scheduled timepoint. Nothing is written.
    """
    definition = instrument_definition(instrument)
    parsed = parse_instrument_answers(definition, answers)
    rules.check_date_plausible(assessed_on, field="assessed_on")
    timepoint = assessment_timepoint(procedure=procedure, assessed_on=assessed_on, timepoint=timepoint, after_procedure=after_procedure)
    _check_timepoint_collected(definition, timepoint)
    _check_free(procedure, definition, timepoint)
    response = record_save(
        record=InstrumentResponse(
            patient_id=procedure.patient_id,
            procedure=procedure,
            instrument=definition.code,
            timepoint=timepoint,
            assessed_on=assessed_on,
            answers={} if definition.repeating else parsed,
            source=ASSESSMENT_SOURCE.parse(source, field="source"),
        ),
        user=user,
    )
    _write_derived(response, definition, parsed, user)
    return response


@transaction.atomic
def instrument_missing_record(
    *, procedure: Procedure, instrument: str, timepoint: str, missing_reason: str, source: str = "staff", user=None  # noqa: ANN001
) -> InstrumentResponse:
    """Record that a scheduled instrument was not obtained, and why (no answers, no scores)."""
    definition = instrument_definition(instrument)
    reason = MISSING_REASON.parse(missing_reason, field="missing_reason")
    if timepoint == UNSCHEDULED:
        raise DomainError("timepoint", timepoint, "only a scheduled timepoint can be missing")
    _check_timepoint_collected(definition, timepoint)
    _check_free(procedure, definition, timepoint)
    return record_save(
        record=InstrumentResponse(
            patient_id=procedure.patient_id,
            procedure=procedure,
            instrument=definition.code,
            timepoint=timepoint,
            missing_reason=reason,
            source=ASSESSMENT_SOURCE.parse(source, field="source"),
        ),
        user=user,
    )


@transaction.atomic
def instrument_response_update(
    *,
    response: InstrumentResponse,
    expected_version: int,
    answers: Mapping[str, Any],
    assessed_on: date | None = None,
    user=None,  # noqa: ANN001
) -> InstrumentResponse:
    """Change a response's answers (and date): scores and entries follow, all under the response's
    version, so a second editor working from the old version gets :class:`EditConflict`.

    A response recorded as missing becomes a completed one when answers (and a date) are given.
    """
    current = InstrumentResponse.objects.select_for_update().get(pk=response.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, attempted={"answers": dict(answers)}, expected_version=expected_version)
    definition = current.definition
    parsed = parse_instrument_answers(definition, answers)
    new_date = assessed_on or current.assessed_on
    if new_date is None:
        raise DomainError("assessed_on", None, "a completed instrument needs the date it was answered")
    rules.check_date_plausible(new_date, field="assessed_on")
    timepoint = current.timepoint
    if new_date != current.assessed_on:
        timepoint = assessment_timepoint(
            procedure=current.procedure, assessed_on=new_date, timepoint=None if timepoint == UNSCHEDULED else timepoint
        )
    stored_answers = {} if definition.repeating else parsed
    changes = {
        key: value
        for key, value in {"answers": stored_answers, "assessed_on": new_date, "timepoint": timepoint, "missing_reason": None}.items()
        if getattr(current, key) != value
    }
    updated = record_update(record=current, expected_version=expected_version, changes=changes, user=user) if changes else current
    _write_derived(updated, definition, parsed, user)
    return updated


@transaction.atomic
def instrument_response_delete(*, response: InstrumentResponse, reason: str, user=None) -> None:  # noqa: ANN001
    """Delete a response with its scores and entries; the history keeps them, with who and why."""
    if not reason or not reason.strip():
        raise DomainError("reason", reason, "deleting a recorded instrument needs a reason")
    for child in [*response.scores.all(), *response.analgesic_entries.all()]:
        record_delete(record=child, user=user, reason=reason.strip())
    record_delete(record=response, user=user, reason=reason.strip())


def stored_entries_as_answers(response: InstrumentResponse) -> dict[str, Any]:
    """A response's answers in the shape :meth:`Instrument.parse_answers` takes (entries included)."""
    if response.definition.repeating:
        return {
            "entries": [
                {key: getattr(entry, key) for key in ("drug", "dose", "unit", "route", "doses_per_day")}
                for entry in response.analgesic_entries.order_by("position")
            ]
        }
    return dict(response.answers)

