"""Outcome instruments beyond pain, as data (issue 10): RDQ-24, ODI 2.1a, EQ-5D-5L, analgesic use.

:data:`INSTRUMENTS` lists every definition (:class:`~.definition.Instrument`); :data:`MEASURES` every
analysed number they produce, by its unique code — the ``measure`` column of the score frame
(:mod:`vertebro.stats.instrument_scores`) and the keys of the analysis contract's ``instruments``
section. Nothing outside this package names an instrument: add a definition module and list it here.
"""

from __future__ import annotations

from .analgesics import ANALGESICS
from .definition import AnswerOption, Code, Instrument, Item, Measure, Score
from .eq5d import EQ5D5L
from .odi import ODI
from .rdq import RDQ24
from .wording import Wording, load_wording, parse_wording

#: Every instrument, in the order reports and forms show them.
INSTRUMENTS: dict[str, Instrument] = {instrument.code: instrument for instrument in (RDQ24, ODI, EQ5D5L, ANALGESICS)}
#: Every measure, by its unique code.
MEASURES: dict[str, Measure] = {m.code: m for instrument in INSTRUMENTS.values() for m in instrument.measures}
#: The instrument each measure belongs to.
INSTRUMENT_OF_MEASURE: dict[str, str] = {
    m.code: instrument.code for instrument in INSTRUMENTS.values() for m in instrument.measures
}

__all__ = [
    "INSTRUMENTS",
    "INSTRUMENT_OF_MEASURE",
    "MEASURES",
    "AnswerOption",
    "Code",
    "Instrument",
    "Item",
    "Measure",
    "Score",
    "Wording",
    "load_wording",
    "parse_wording",
]
