"""What an outcome instrument is, as data: items, allowed answers, measures, scoring, codes, licence.

Every layer reads these objects instead of knowing an instrument by name: the statistics take a
measure's range, direction of improvement and MCID from its :class:`Measure`; forms, REDCap
dictionaries, FHIR Questionnaires and SPSS/Stata labels take items, answer options and codes from
its :class:`Item` list; the synthetic cohort answers the items and scores them with
:meth:`Instrument.score`. Adding an instrument means writing one definition module and listing it in
:data:`vertebro.domain.instruments.INSTRUMENTS`.

Item *wording* is not part of a definition: the Oswestry wording is licensed (Mapi Research Trust),
so items carry their published titles only and a site that holds a licence loads the wording from a
file (:mod:`vertebro.domain.instruments.wording`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ..errors import DomainError
from ..rules import plain_number
from ..timepoints import TIMEPOINT_CODES

__all__ = ["AnswerOption", "Code", "Instrument", "Item", "Measure", "Score"]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
#: Codes vertebro gives where no standard code exists (a FHIR system URI of its own).
VERTEBRO = "urn:vertebro:instrument"


@dataclass(frozen=True)
class Code:
    """A code in a terminology, as FHIR ``Coding`` carries it.

    ``source`` says where the code was verified (a page of the terminology's owner, as the docstring of
    the definition module cites it).
    """

    system: str
    code: str
    display: str
    source: str = ""


@dataclass(frozen=True)
class AnswerOption:
    """One allowed answer of a choice item: the stored ``value`` and the label people read."""

    value: int | str
    label: str


@dataclass(frozen=True)
class Item:
    """One question (section, dimension) of an instrument.

    Attributes
    ----------
    code : str
        The item's key in answer mappings, files and forms (``odi_01``, ``eq5d_mobility``); lower-case
        letters, digits and underscores so it is also a valid REDCap, Stata and SPSS variable name.
    title : str
        The item's published title (ODI section titles, EQ-5D dimension names) or, where the wording is
        free to reproduce, a short form of it.
    kind : {"choice", "code", "integer", "decimal", "text"}
        ``choice``: one of ``options`` (whole-number values); ``code``: one of ``options`` whose values
        are text codes (a drug, a route), given as the code or its label; ``integer``/``decimal``: a
        number from ``minimum`` to ``maximum``; ``text``: free text.
    options : tuple of AnswerOption
        For choice items, every allowed answer in display order.
    minimum, maximum : float or None
        Range of numeric items.
    unit : str
        UCUM unit of a numeric item (``mg``, ``{score}``).
    codes : tuple of Code
        Standard codes of the item (LOINC) where they exist.
    """

    code: str
    title: str
    kind: Literal["choice", "code", "integer", "decimal", "text"] = "choice"
    options: tuple[AnswerOption, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    codes: tuple[Code, ...] = ()

    def parse(self, value: object) -> int | float | str | None:
        """The stored value of one answer: ``None`` when unanswered (None, NaN, blank text).

        Raises
        ------
        DomainError
            Naming the item, the value and the allowed answers.
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        if self.kind == "text":
            return str(value)
        if self.kind == "code":
            folded = str(value).strip().casefold().replace(" ", "_").replace("-", "_")
            for option in self.options:
                if folded in (str(option.value), option.label.casefold().replace(" ", "_").replace("-", "_")):
                    return option.value
            raise DomainError(self.code, value, self._rule())
        if isinstance(value, bool):
            raise DomainError(self.code, value, self._rule())
        number = plain_number(value, field=self.code, rule=self._rule())
        if self.kind == "choice":
            if number.is_integer() and int(number) in {option.value for option in self.options}:
                return int(number)
            raise DomainError(self.code, value, self._rule())
        if not math.isfinite(number) or (self.kind == "integer" and not number.is_integer()):
            raise DomainError(self.code, value, self._rule())
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise DomainError(self.code, value, self._rule())
        return int(number) if self.kind == "integer" else number

    def _rule(self) -> str:
        if self.kind == "code":
            return f"{self.title} must be one of {', '.join(str(o.value) for o in self.options)}, or empty when unanswered"
        if self.kind == "choice":
            allowed = ", ".join(f"{o.value} ({o.label})" for o in self.options)
            return f"{self.title} must be one of {allowed}, or empty when unanswered"
        whole = "a whole number" if self.kind == "integer" else "a number"
        return f"{self.title} must be {whole} from {self.minimum:g} to {self.maximum:g}, or empty when unanswered"


@dataclass(frozen=True)
class Measure:
    """One analysed number an instrument produces (a score, an index, a VAS, a daily dose).

    Attributes
    ----------
    code : str
        Unique across instruments (``rdq``, ``eq5d5l_index_us``): the ``measure`` column of the score
        frame and the key of the analysis contract's ``instruments`` section.
    label : str
        Human name, with its scale (``"RDQ-24 (0–24)"``).
    minimum, maximum : float
        Range of every possible score.
    higher_is_better : bool
        Direction of improvement: False for disability (RDQ, ODI) and dose (MME), True for EQ-5D.
        The statistics orient every change so that a positive improvement is always better.
    mcid : float or None
        Minimal clinically important difference in the measure's units; None where no published value
        is adopted (the responder analysis then says so instead of inventing one).
    mcid_source : str
        Where ``mcid`` comes from.
    unit : str
        UCUM unit (``{score}``, ``%``, ``mg/d``).
    decimals : int
        Digits a display shows (the analysis never rounds).
    codes : tuple of Code
        Codes of the measure as an Observation (LOINC / SNOMED CT) where they exist.
    """

    code: str
    label: str
    minimum: float
    maximum: float
    higher_is_better: bool
    mcid: float | None
    mcid_source: str
    unit: str = "{score}"
    decimals: int = 1
    codes: tuple[Code, ...] = ()

    @property
    def direction(self) -> str:
        return "higher_is_better" if self.higher_is_better else "lower_is_better"

    def check(self, value: float | None) -> float | None:
        """``value`` when it lies in the measure's range (None passes), else a DomainError."""
        if value is None:
            return None
        if not (math.isfinite(value) and self.minimum - 1e-9 <= value <= self.maximum + 1e-9):
            raise DomainError(self.code, value, f"{self.label} must lie from {self.minimum:g} to {self.maximum:g}")
        return value


@dataclass(frozen=True)
class Score:
    """What scoring one completed instrument gives.

    Attributes
    ----------
    values : dict of str to float or None
        One entry per measure of the instrument; None when the answers do not allow a score.
    notes : tuple of str
        Why a value is None, or how it was reached (an ODI with one section missing).
    """

    values: dict[str, float | None]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instrument:
    """A definition: everything a layer needs to collect, store, exchange, score and analyse it.

    Attributes
    ----------
    code : str
        ``rdq24``, ``odi``, ``eq5d5l``, ``analgesics``.
    name, version : str
        Published name and version.
    items : tuple of Item
        In form order.
    measures : tuple of Measure
        What :meth:`score` produces, in display order.
    scorer : callable
        ``scorer(parsed_answers) -> Score``; takes the dict :meth:`parse_answers` returns.
    scoring_rule : str
        The scoring and missing-item rule in words (forms, README, report methods).
    timepoints : tuple of str
        Timepoint codes at which the instrument is collected (:mod:`vertebro.domain.timepoints`
        windows apply unchanged).
    codes : tuple of Code
        Codes of the instrument as a whole (LOINC panel) where they exist.
    licence : str
        Who owns the instrument and what using it requires.
    reference : str
        The publication that defines the instrument and its scoring.
    repeating : bool
        True when one assessment holds several entries (analgesics: one per drug); the answer mapping
        then has the key ``entries`` holding a list of per-entry mappings over :attr:`items`.
    """

    code: str
    name: str
    version: str
    items: tuple[Item, ...]
    measures: tuple[Measure, ...]
    scorer: Callable[[Mapping[str, object]], Score] = field(repr=False)
    scoring_rule: str
    timepoints: tuple[str, ...]
    codes: tuple[Code, ...] = ()
    licence: str = ""
    reference: str = ""
    repeating: bool = False

    def __post_init__(self) -> None:
        unknown = [code for code in self.timepoints if code not in TIMEPOINT_CODES]
        if unknown:
            raise ValueError(f"{self.code}: unknown timepoints {unknown}")
        codes = [item.code for item in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.code}: item codes repeat")

    @cached_property
    def _items_by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    def item(self, code: str) -> Item:
        if code in self._items_by_code:
            return self._items_by_code[code]
        raise DomainError("item", code, f"{self.name} has no item {code!r}; its items are {', '.join(i.code for i in self.items)}")

    def measure(self, code: str) -> Measure:
        return next(m for m in self.measures if m.code == code)

    def parse_answers(self, answers: Mapping[str, object]) -> dict[str, object]:
        """Check every answer against its item and return the stored values (missing items are None).

        For a repeating instrument ``answers`` is ``{"entries": [mapping, ...]}`` and the result keeps
        that shape.

        Raises
        ------
        DomainError
            On the first answer an item refuses, or a key that is no item of this instrument.
        """
        if self.repeating:
            entries = answers.get("entries") or []
            return {"entries": [self._parse_flat(entry) for entry in entries]}
        return self._parse_flat(answers)

    def _parse_flat(self, answers: Mapping[str, object]) -> dict[str, object]:
        for key in answers:
            self.item(key)  # an unknown key is refused by name
        return {item.code: item.parse(answers.get(item.code)) for item in self.items}

    def score(self, answers: Mapping[str, object]) -> Score:
        """Parse ``answers`` (see :meth:`parse_answers`) and score them by the instrument's rule."""
        result = self.scorer(self.parse_answers(answers))
        for measure in self.measures:
            measure.check(result.values.get(measure.code))
        return result
