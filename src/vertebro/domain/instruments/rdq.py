"""Roland–Morris Disability Questionnaire, 24 items (RDQ-24).

Source of the items and the scoring: Roland M, Morris R. A study of the natural history of back pain.
Part I: development of a reliable and sensitive measure of disability in low-back pain. Spine
1983;8(2):141-144; reproduced in Roland M, Fairbank J. The Roland-Morris Disability Questionnaire and
the Oswestry Disability Questionnaire. Spine 2000;25(24):3115-3124, whose appendix says that in that
form no permission is needed. The statements below are the original English form's (checked against
the form as distributed with the 1983 reference); the score is the number of statements the patient
ticks, 0–24, higher meaning more disability.

MCID 5 points: Ostelo RWJG et al. Interpreting change scores for pain and functional status in low
back pain. Spine 2008;33(1):90-94 (DESIGN.md §3).

Codes: no LOINC term for the RDQ-24 total was found (the LOINC pages reached list no RDQ panel), so
the measure carries a vertebro code only; phase 2 adds a LOINC code here if one is confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..timepoints import SCHEDULE
from .definition import VERTEBRO, AnswerOption, Code, Instrument, Item, Measure, Score

STATEMENTS = (
    "I stay at home most of the time because of my back.",
    "I change position frequently to try and get my back comfortable.",
    "I walk more slowly than usual because of my back.",
    "Because of my back I am not doing any of the jobs that I usually do around the house.",
    "Because of my back, I use a handrail to get upstairs.",
    "Because of my back, I lie down to rest more often.",
    "Because of my back, I have to hold on to something to get out of an easy chair.",
    "Because of my back, I try to get other people to do things for me.",
    "I get dressed more slowly than usual because of my back.",
    "I only stand for short periods of time because of my back.",
    "Because of my back, I try not to bend or kneel down.",
    "I find it difficult to get out of a chair because of my back.",
    "My back is painful almost all the time.",
    "I find it difficult to turn over in bed because of my back.",
    "My appetite is not very good because of my back pain.",
    "I have trouble putting on my socks (or stockings) because of the pain in my back.",
    "I only walk short distances because of my back.",
    "I sleep less well because of my back.",
    "Because of my back pain, I get dressed with help from someone else.",
    "I sit down for most of the day because of my back.",
    "I avoid heavy jobs around the house because of my back.",
    "Because of my back pain, I am more irritable and bad tempered with people than usual.",
    "Because of my back, I go upstairs more slowly than usual.",
    "I stay in bed most of the time because of my back.",
)
_YES_NO = (AnswerOption(0, "No (not ticked)"), AnswerOption(1, "Yes (ticked: describes me today)"))
ITEMS = tuple(Item(f"rdq_{number:02d}", text, options=_YES_NO) for number, text in enumerate(STATEMENTS, start=1))

MEASURE = Measure(
    code="rdq",
    label="RDQ-24 disability (0–24)",
    minimum=0,
    maximum=24,
    higher_is_better=False,
    mcid=5.0,
    mcid_source="Ostelo et al., Spine 2008;33:90-94 (RDQ 5 points)",
    decimals=1,
    codes=(Code(VERTEBRO, "rdq24-total", "Roland-Morris Disability Questionnaire (24 items) total score"),),
)

RULE = (
    "Score = number of statements answered yes (ticked), 0–24. The published form has the patient tick "
    "the statements that describe them today and scores an unticked statement as no (Roland & Fairbank "
    "2000), so an unanswered item counts as no; a form with every item unanswered was not completed and "
    "has no score."
)


def score(answers: Mapping[str, object]) -> Score:
    """RDQ-24 total: ticked statements counted, unanswered ones as not ticked; no score when all are unanswered."""
    values = [answers[item.code] for item in ITEMS]
    answered = [value for value in values if value is not None]
    if not answered:
        return Score({"rdq": None}, ("RDQ: no item answered, so no score",))
    notes = ()
    if len(answered) < len(ITEMS):
        notes = (f"RDQ: {len(ITEMS) - len(answered)} unanswered items counted as not ticked",)
    return Score({"rdq": float(sum(answered))}, notes)


RDQ24 = Instrument(
    code="rdq24",
    name="Roland-Morris Disability Questionnaire",
    version="24-item (Roland & Morris 1983)",
    items=ITEMS,
    measures=(MEASURE,),
    scorer=score,
    scoring_rule=RULE,
    timepoints=tuple(tp.code for tp in SCHEDULE if tp.code != "post"),
    licence="Free to use without permission in its published form (Roland & Fairbank, Spine 2000;25:3115-3124).",
    reference="Roland M, Morris R. Spine 1983;8(2):141-144.",
)
