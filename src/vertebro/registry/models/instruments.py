"""Outcome instrument responses (issue 10), stored generically from the definitions.

One :class:`InstrumentResponse` per patient, procedure, instrument and scheduled timepoint holds the
item answers as the definition parses them (``answers``: item code → stored value) or, when the
assessment was not obtained, a missing-data reason instead. Its derived scores live in
:class:`InstrumentScore` rows (one per measure of the instrument), written by the service from
:meth:`vertebro.domain.instruments.Instrument.score` on every write, so a score never disagrees with
its answers (``vertebro db check`` re-scores every response to prove it). A repeating instrument
(analgesic use) keeps one :class:`AnalgesicEntry` per drug instead of ``answers``.

No model knows an instrument by name: instrument, measure and item codes come from
:data:`vertebro.domain.instruments.INSTRUMENTS`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ...domain.instruments import INSTRUMENTS, MEASURES
from ...domain.instruments.analgesics import DRUGS, ROUTES, UNITS
from ...domain.timepoints import UNSCHEDULED
from ...domain.vocabulary import ASSESSMENT_SOURCE, MISSING_REASON, Vocabulary
from .base import RegistryRecord, check, in_vocabulary
from .clinical import TIMEPOINT, Procedure
from .people import Patient

INSTRUMENT_CODE = Vocabulary("instrument", tuple((code, i.name) for code, i in INSTRUMENTS.items()))
MEASURE_CODE = Vocabulary("measure", tuple((code, m.label) for code, m in MEASURES.items()))
DRUG = Vocabulary("drug", tuple((d.code, d.name) for d in DRUGS))
ROUTE = Vocabulary("route", ROUTES)
DOSE_UNIT = Vocabulary("dose unit", UNITS)


class InstrumentResponse(RegistryRecord):
    """One completed (or recorded-as-missing) instrument at one timepoint of a procedure."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="instrument_responses")
    # Indexed by the unique (procedure, instrument, timepoint) constraint below.
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="instrument_responses", db_index=False)
    instrument = models.CharField(max_length=16, choices=INSTRUMENT_CODE.choices())
    timepoint = models.CharField(max_length=12, choices=TIMEPOINT.choices())
    assessed_on = models.DateField(null=True, blank=True, help_text="Empty only when the assessment is missing.")
    answers = models.JSONField(default=dict, blank=True, help_text="Item code → stored answer, as the definition parses it.")
    missing_reason = models.CharField(max_length=16, choices=MISSING_REASON.choices(), null=True, blank=True)
    source = models.CharField(max_length=8, choices=ASSESSMENT_SOURCE.choices(), default="staff")

    class Meta:
        ordering = ["patient_id", "procedure_id", "instrument", "assessed_on", "id"]
        constraints = [
            check("instrument_response_instrument_known", in_vocabulary("instrument", INSTRUMENT_CODE), "unknown instrument"),
            check("instrument_response_timepoint_known", in_vocabulary("timepoint", TIMEPOINT), "unknown timepoint"),
            check(
                "instrument_response_missing_reason_known",
                in_vocabulary("missing_reason", MISSING_REASON, nullable=True),
                "unknown missing-data reason",
            ),
            check("instrument_response_source_known", in_vocabulary("source", ASSESSMENT_SOURCE), "unknown assessment source"),
            check(
                "instrument_response_dated_or_missing",
                Q(assessed_on__isnull=False, missing_reason__isnull=True) | Q(assessed_on__isnull=True, missing_reason__isnull=False),
                "an instrument response has a date, or a missing-data reason instead, never both",
            ),
            models.UniqueConstraint(
                fields=["procedure", "instrument", "timepoint"],
                condition=~Q(timepoint=UNSCHEDULED),
                name="instrument_response_once_per_timepoint",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} at {self.timepoint}"

    @property
    def definition(self):  # noqa: ANN201
        return INSTRUMENTS[self.instrument]


class InstrumentScore(RegistryRecord):
    """A derived score of a response (one per measure); ``value`` is empty when the answers allow none."""

    # Indexed by the unique (response, measure) constraint below.
    response = models.ForeignKey(InstrumentResponse, on_delete=models.CASCADE, related_name="scores", db_index=False)
    measure = models.CharField(max_length=24, choices=MEASURE_CODE.choices())
    value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["response_id", "id"]
        constraints = [
            check("instrument_score_measure_known", in_vocabulary("measure", MEASURE_CODE), "unknown measure"),
            models.UniqueConstraint(fields=["response", "measure"], name="instrument_score_once_per_measure"),
        ]


class AnalgesicEntry(RegistryRecord):
    """One drug of an analgesic-use response, with the oral morphine mg equivalents/day it counts."""

    # Indexed by the unique (response, position) constraint below.
    response = models.ForeignKey(InstrumentResponse, on_delete=models.CASCADE, related_name="analgesic_entries", db_index=False)
    position = models.PositiveSmallIntegerField(help_text="1, 2, … in the order entered.")
    drug = models.CharField(max_length=20, choices=DRUG.choices())
    dose = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=16, choices=DOSE_UNIT.choices(), null=True, blank=True)
    route = models.CharField(max_length=20, choices=ROUTE.choices(), null=True, blank=True)
    doses_per_day = models.FloatField(null=True, blank=True)
    mme_per_day = models.FloatField(null=True, blank=True, help_text="Empty when the CDC 2022 table cannot convert the entry.")

    class Meta:
        ordering = ["response_id", "position"]
        verbose_name_plural = "analgesic entries"
        constraints = [
            check("analgesic_entry_drug_known", in_vocabulary("drug", DRUG), "unknown drug"),
            check("analgesic_entry_unit_known", in_vocabulary("unit", DOSE_UNIT, nullable=True), "unknown dose unit"),
            check("analgesic_entry_route_known", in_vocabulary("route", ROUTE, nullable=True), "unknown route"),
            check("analgesic_entry_dose_not_negative", Q(dose__isnull=True) | Q(dose__gte=0), "a dose is not negative"),
            check(
                "analgesic_entry_frequency_in_range",
                Q(doses_per_day__isnull=True) | Q(doses_per_day__gte=0, doses_per_day__lte=48),
                "administrations per day must lie from 0 to 48",
            ),
            check("analgesic_entry_mme_not_negative", Q(mme_per_day__isnull=True) | Q(mme_per_day__gte=0), "MME/day is not negative"),
            models.UniqueConstraint(fields=["response", "position"], name="analgesic_entry_once_per_position"),
        ]
