"""Synthetic instrument answers (item level) and their scores, chunk by chunk beside the pain rows.

Each chunk of the pain cohort (:class:`~.cohort.Chunk`) gets its instruments from a random stream of
its own, ``default_rng([seed, 10, first patient number])``: the pain file is byte for byte what it was
without instruments, the instrument files depend only on the seed (and the parameters), and memory
stays at one chunk. The answers follow the chunk's pain scores (:mod:`.instrument_parameters`) and
are scored by the definitions, never by a formula of this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..domain.instruments import INSTRUMENTS
from ..stats.instrument_scores import ANSWER_COLUMNS, SCORE_COLUMNS
from .cohort import TIMEPOINT_COLUMNS, Chunk
from .instrument_parameters import DisabilityModel, InstrumentModel

__all__ = ["ANSWERS_HEADER", "SCORES_HEADER", "InstrumentChunk", "instrument_chunk"]

ANSWERS_HEADER = ",".join(ANSWER_COLUMNS) + "\n"
SCORES_HEADER = ",".join(SCORE_COLUMNS) + "\n"
_STREAM = 10  # keeps the instruments' random stream apart from anything else derived from the seed


@dataclass(frozen=True)
class InstrumentChunk:
    """The CSV lines of one chunk: item answers and scores (ASCII, each line ending in a newline)."""

    answers: str
    scores: str
    assessments: int


def _latent(rng, model: DisabilityModel, vps: np.ndarray, patient: np.ndarray) -> np.ndarray:
    return model.intercept + model.pain_slope * (vps - 7.0) + patient + rng.normal(0.0, model.visit_sd, len(vps))


def _difficulties(count: int, spread: float) -> np.ndarray:
    return np.linspace(-spread, spread, count)


def _ordinal(rng, theta: np.ndarray, model: DisabilityModel, items: int, top: int) -> np.ndarray:
    """``(n, items)`` levels 0..top from a latent disability (higher theta, higher level)."""
    raw = top * expit(theta[:, None] + _difficulties(items, model.item_spread)[None, :])
    return np.clip(np.rint(raw + rng.normal(0.0, model.answer_noise_sd, raw.shape)), 0, top).astype(np.int64)


def _blank(rng, answers: np.ndarray, share: float) -> np.ndarray:
    """An object array of the answers with a random ``share`` left unanswered (None)."""
    result = answers.astype(object)
    result[rng.random(answers.shape) < share] = None
    return result


def instrument_chunk(chunk: Chunk, seed: int, model: InstrumentModel) -> InstrumentChunk:
    """Draw, score and format the instruments of ``chunk``'s patients (see the module docstring)."""
    rng = np.random.default_rng([int(seed), _STREAM, chunk.first_number])
    n = len(chunk)
    ids = [f"VP{chunk.first_number + i:06d}" for i in range(n)]
    patient_effect = {name: rng.normal(0.0, getattr(model, name).patient_sd, n) for name in ("rdq", "odi", "eq5d")}
    opioid_drug = rng.choice(len(model.opioid_drugs), size=n, p=[share for _, share in model.opioid_drugs])
    takes_paracetamol = rng.random(n) < model.paracetamol_share
    answer_lines: list[str] = []
    score_lines: list[str] = []
    assessments = 0
    for code, instrument in INSTRUMENTS.items():
        for column, timepoint in enumerate(TIMEPOINT_COLUMNS):
            if timepoint not in instrument.timepoints:
                continue
            who = np.flatnonzero(chunk.present[:, column] & (rng.random(n) >= model.instrument_skipped))
            if not who.size:
                continue
            vps = chunk.vps[who, column].astype(float)
            forms = _draw(code, rng, model, vps, {k: v[who] for k, v in patient_effect.items()},
                          opioid_drug[who], takes_paracetamol[who])  # fmt: skip
            for row, answers in zip(who, forms):
                head = f"{ids[row]},{code},{timepoint},{chunk.days[row, column]}"
                score = instrument.scorer(answers)  # drawn in the parsed form: the definition's own rule, no re-parse
                answer_lines.extend(_answer_lines(head, answers, instrument.repeating))
                score_lines.extend(
                    f"{ids[row]},{code},{measure},{timepoint},{chunk.days[row, column]},{value:.15g}\n"
                    for measure, value in score.values.items()
                    if value is not None
                )
                assessments += 1
    return InstrumentChunk("".join(answer_lines), "".join(score_lines), assessments)


def _draw(code, rng, model: InstrumentModel, vps, effect, opioid_drug, paracetamol) -> list[dict]:
    """The answer mappings of one instrument at one timepoint for the patients seen there."""
    instrument = INSTRUMENTS[code]
    items = [item.code for item in instrument.items]
    if code == "rdq24":
        theta = _latent(rng, model.rdq, vps, effect["rdq"])
        ticked = rng.random((len(vps), len(items))) < expit(theta[:, None] + _difficulties(len(items), model.rdq.item_spread))
        answers = _blank(rng, ticked.astype(np.int64), model.item_nonresponse)
    elif code == "odi":
        answers = _blank(rng, _ordinal(rng, _latent(rng, model.odi, vps, effect["odi"]), model.odi, len(items), 5),
                         model.item_nonresponse)  # fmt: skip
        answers[rng.random(len(vps)) < model.sex_life_not_applicable, items.index("odi_08")] = None
    elif code == "eq5d5l":
        levels = 1 + _ordinal(rng, _latent(rng, model.eq5d, vps, effect["eq5d"]), model.eq5d, 5, 4)
        vas = np.clip(np.rint(model.vas_baseline - model.vas_per_pain_point * (vps - 7) + rng.normal(0, model.vas_sd, len(vps))), 0, 100)
        answers = _blank(rng, np.column_stack([levels, vas.astype(np.int64)]), model.item_nonresponse)
    else:
        return _analgesics(rng, model, vps, opioid_drug, paracetamol)
    return [dict(zip(items, row)) for row in answers.tolist()]


def _analgesics(rng, model: InstrumentModel, vps, opioid_drug, paracetamol) -> list[dict]:
    logit = np.log(model.opioid_baseline / (1 - model.opioid_baseline)) + model.opioid_per_pain_point * (vps - 7)
    on_opioid = rng.random(len(vps)) < expit(logit)
    doses = dict(model.opioid_doses)
    forms = []
    for k in range(len(vps)):
        entries = []
        if on_opioid[k]:
            drug = model.opioid_drugs[opioid_drug[k]][0]
            dose = float(rng.choice(doses[drug]))
            if drug == "fentanyl":
                entries.append({"drug": drug, "dose": dose, "unit": "mcg_per_hour", "route": "transdermal", "doses_per_day": None})
            else:
                entries.append({"drug": drug, "dose": dose, "unit": "mg", "route": "oral",
                                "doses_per_day": float(rng.choice(model.opioid_doses_per_day))})  # fmt: skip
        if paracetamol[k]:
            entries.append({"drug": "paracetamol", "dose": 1000.0, "unit": "mg", "route": "oral",
                            "doses_per_day": float(rng.choice((3.0, 4.0)))})  # fmt: skip
        forms.append({"entries": entries or [{"drug": "none", "dose": None, "unit": None, "route": None, "doses_per_day": None}]})
    return forms


def _answer_lines(head: str, answers: dict, repeating: bool) -> Iterator[str]:
    if repeating:
        for instance, entry in enumerate(answers["entries"], start=1):
            yield from (f"{head},{instance},{item},{_text(value)}\n" for item, value in entry.items() if value is not None)
    else:
        yield from (f"{head},,{item},{_text(value)}\n" for item, value in answers.items() if value is not None)


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
