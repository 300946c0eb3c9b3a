"""EQ-5D-5L: five dimensions at levels 1–5 and the EQ VAS 0–100 (EuroQol Research Foundation).

Scoring: the index of the five-digit state under each value set of
:mod:`.eq5d_value_sets` (all five dimensions needed: a state with a dimension missing has no index;
there is no imputation); the EQ VAS is the number the patient marks, 0 (worst health you can imagine)
to 100 (best), a measure of its own.

Licence: EuroQol requires every user to register the use of the EQ-5D (euroqol.org); the level labels
below are the descriptive system's level names, not the questionnaire's licensed wording.

MCID: none adopted. Published minimally important differences of the EQ-5D-5L index depend on the
value set and the population, and none was verified from a source here; the responder analysis of
these measures says so instead of counting responders at an unsourced threshold.

Codes: SNOMED CT 736534008 "EuroQol five dimension five level index value (observable entity)" and
736535009 "EuroQol visual analogue score (observable entity)" (as the MII PRO implementation guide
uses them, build.fhir.org/ig/medizininformatik-initiative/kerndatensatzmodul-proms). No LOINC code
for the 5L panel or index was confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..timepoints import SCHEDULE
from .definition import SNOMED, AnswerOption, Code, Instrument, Item, Measure, Score
from .eq5d_value_sets import DIMENSIONS, VALUE_SETS

_LEVELS = tuple(
    AnswerOption(level, label)
    for level, label in enumerate(
        ("no problems", "slight problems", "moderate problems", "severe problems", "extreme problems / unable to"),
        start=1,
    )
)
DIMENSION_ITEMS = (
    Item("eq5d_mobility", "Mobility", options=_LEVELS),
    Item("eq5d_self_care", "Self-care", options=_LEVELS),
    Item("eq5d_usual_activities", "Usual activities", options=_LEVELS),
    Item("eq5d_pain_discomfort", "Pain / discomfort", options=_LEVELS),
    Item("eq5d_anxiety_depression", "Anxiety / depression", options=_LEVELS),
)
VAS_ITEM = Item("eq5d_vas", "EQ VAS (0 worst – 100 best health you can imagine)", kind="integer", minimum=0, maximum=100)
_SNOMED_SOURCE = "MII PRO implementation guide, EQ-5D-5L scores"


def index_measure_code(value_set_code: str) -> str:
    return f"eq5d5l_index_{value_set_code}"


INDEX_MEASURES = tuple(
    Measure(
        code=index_measure_code(value_set.code),
        label=f"EQ-5D-5L index, {value_set.name}",
        minimum=round(value_set.worst, 3),
        maximum=1.0,
        higher_is_better=True,
        mcid=None,
        mcid_source="none adopted (value-set and population specific; see vertebro.domain.instruments.eq5d)",
        unit="1",
        decimals=3,
        codes=(Code(SNOMED, "736534008", "EuroQol five dimension five level index value (observable entity)", _SNOMED_SOURCE),),
    )
    for value_set in VALUE_SETS.values()
)
VAS_MEASURE = Measure(
    code="eq5d5l_vas",
    label="EQ VAS (0–100)",
    minimum=0,
    maximum=100,
    higher_is_better=True,
    mcid=None,
    mcid_source="none adopted",
    decimals=1,
    codes=(Code(SNOMED, "736535009", "EuroQol visual analogue score (observable entity)", _SNOMED_SOURCE),),
)

RULE = (
    "Index: 1 minus the value set's decrements of the five dimension levels (US: Pickard 2019; England: "
    "Devlin 2018); needs all five dimensions, no imputation. EQ VAS: the 0–100 rating as marked."
)


def health_state(answers: Mapping[str, object]) -> str | None:
    """The five-digit profile (``"21354"``), or None when a dimension is unanswered."""
    levels = [answers[item.code] for item in DIMENSION_ITEMS]
    if any(level is None for level in levels):
        return None
    return "".join(str(level) for level in levels)


def score(answers: Mapping[str, object]) -> Score:
    """Index under every value set, and the VAS."""
    state = health_state(answers)
    values: dict[str, float | None] = {
        index_measure_code(code): None if state is None else value_set.index(state) for code, value_set in VALUE_SETS.items()
    }
    vas = answers[VAS_ITEM.code]
    values[VAS_MEASURE.code] = None if vas is None else float(vas)  # type: ignore[arg-type]
    notes = []
    if state is None:
        missing = [item.title for item in DIMENSION_ITEMS if answers[item.code] is None]
        if len(missing) < len(DIMENSION_ITEMS):
            notes.append(f"EQ-5D-5L: no index without {', '.join(missing)}")
    return Score(values, tuple(notes))


EQ5D5L = Instrument(
    code="eq5d5l",
    name="EQ-5D-5L",
    version="5L (EuroQol)",
    items=(*DIMENSION_ITEMS, VAS_ITEM),
    measures=(*INDEX_MEASURES, VAS_MEASURE),
    scorer=score,
    scoring_rule=RULE,
    timepoints=tuple(tp.code for tp in SCHEDULE if tp.code != "post"),
    licence="EuroQol Research Foundation: every use of the EQ-5D must be registered with EuroQol (euroqol.org).",
    reference="Herdman M et al. Qual Life Res 2011;20:1727-1736 (EQ-5D-5L); value sets as listed.",
)

__all__ = ["DIMENSIONS", "EQ5D5L", "health_state", "index_measure_code"]
