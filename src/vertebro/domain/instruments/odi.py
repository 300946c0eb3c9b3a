"""Oswestry Disability Index, version 2.1a (ODI).

Source of the sections, the 0–5 scoring and the missing-section rule: Fairbank JCT, Pynsent PB. The
Oswestry Disability Index. Spine 2000;25(22):2940-2953 — ten sections, each scored 0 (first statement)
to 5 (last statement); index = total / (5 × sections answered) × 100, computable with at most one
section missing or not applicable.

The statements are licensed (ODI © Jeremy Fairbank; distributed by Mapi Research Trust), so vertebro
stores and scores the section answers 0–5 and labels sections by their published titles only. A site
that holds the licence loads the wording from a file with
:func:`vertebro.domain.instruments.wording.load_wording`.

MCID 10 points: Ostelo et al., Spine 2008;33:90-94 (DESIGN.md §3).

Codes: LOINC 97908-8 "Oswestry Disability Index" (panel) and 97909-6 "Oswestry disability index score
ODI" (loinc.org/97909-6, LOINC 2.70; reached through the search tool's pages corpus).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..timepoints import SCHEDULE
from .definition import LOINC, AnswerOption, Code, Instrument, Item, Measure, Score

SECTION_TITLES = (
    "Pain intensity",
    "Personal care (washing, dressing, etc.)",
    "Lifting",
    "Walking",
    "Sitting",
    "Standing",
    "Sleeping",
    "Sex life (if applicable)",
    "Social life",
    "Travelling",
)
_STATEMENTS = tuple(
    AnswerOption(score, f"{ordinal} statement (scores {score})")
    for score, ordinal in enumerate(("1st", "2nd", "3rd", "4th", "5th", "6th (last)"))
)
ITEMS = tuple(
    Item(f"odi_{number:02d}", title, options=_STATEMENTS) for number, title in enumerate(SECTION_TITLES, start=1)
)
#: Sections that may be missing (unanswered or not applicable) for the index to exist.
MAX_MISSING_SECTIONS = 1
_LOINC_SOURCE = "loinc.org/97909-6 (LOINC 2.70)"

MEASURE = Measure(
    code="odi",
    label="ODI 2.1a disability (0–100)",
    minimum=0,
    maximum=100,
    higher_is_better=False,
    mcid=10.0,
    mcid_source="Ostelo et al., Spine 2008;33:90-94 (ODI 10 points)",
    unit="%",
    decimals=1,
    codes=(Code(LOINC, "97909-6", "Oswestry disability index score ODI", _LOINC_SOURCE),),
)

RULE = (
    "Index = sum of the section scores / (5 × sections answered) × 100, 0–100 (Fairbank & Pynsent 2000). "
    "One section may be missing or not applicable (the denominator shrinks); with two or more missing "
    "there is no index. Not rounded."
)


def score(answers: Mapping[str, object]) -> Score:
    """ODI index from the section scores, with at most one section missing."""
    values = [answers[item.code] for item in ITEMS]
    answered = [value for value in values if value is not None]
    missing = len(ITEMS) - len(answered)
    if missing > MAX_MISSING_SECTIONS:
        return Score({"odi": None}, (f"ODI: {missing} of 10 sections missing; the index allows at most one",))
    index = 100.0 * sum(answered) / (5 * len(answered))
    notes = ("ODI: one section missing; index over the 9 answered",) if missing else ()
    return Score({"odi": index}, notes)


ODI = Instrument(
    code="odi",
    name="Oswestry Disability Index",
    version="2.1a",
    items=ITEMS,
    measures=(MEASURE,),
    scorer=score,
    scoring_rule=RULE,
    timepoints=tuple(tp.code for tp in SCHEDULE if tp.code != "post"),
    codes=(Code(LOINC, "97908-8", "Oswestry Disability Index", "loinc.org/97908-8"),),
    licence=(
        "ODI © Jeremy Fairbank 1980; the statements are licensed through Mapi Research Trust "
        "(eprovide.mapi-trust.org). vertebro holds section titles and scores only; a licensed site loads "
        "the wording from a file."
    ),
    reference="Fairbank JCT, Pynsent PB. Spine 2000;25(22):2940-2953.",
)
