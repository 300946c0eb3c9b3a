"""Analgesic use: drug, dose, route and frequency per drug, opioids as oral morphine milligram equivalents.

Conversion factors: CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United States,
2022 (Dowell D, Ragan KR, Jones CM, Baldwin GT, Chou R. MMWR Recomm Rep 2022;71(No. RR-3):1-95),
Table "Morphine milligram equivalent doses for commonly prescribed opioids for pain management"
(adapted there from Von Korff 2008 and Nielsen 2016). Read from two reproductions of that table
reached through the search tool (globalrph.com MME calculator and Medscape's copy of the table); both
give the same factors. The 2022 table replaces the 2016 guideline's (hydromorphone 4 → 5, methadone
dose-dependent 4–12 → 4.7, tramadol 0.1 → 0.2); vertebro uses the 2022 table only.

The table's rules, applied here: every dose is in mg/day of the oral drug, except transdermal
fentanyl, in mcg/hr (its factor gives MME/day directly). Routes the table does not cover (intravenous
morphine, buccal fentanyl, ...) have no conversion: that entry's MME is unknown and the assessment's
daily MME is None with a note, never a guess. Non-opioid analgesics are recorded and count 0 MME.

Daily MME = sum over opioid entries of ``dose × doses_per_day × factor`` (oral), or ``rate × 2.4``
(fentanyl patch, mcg/hr). An assessment whose only entry is ``none`` records "no analgesic": 0 MME.
Lower is better; no MCID is established for MME, so no responders are counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..timepoints import SCHEDULE
from .definition import VERTEBRO, AnswerOption, Code, Instrument, Item, Measure, Score

_CDC_2022 = "CDC 2022 opioid guideline (Dowell et al., MMWR Recomm Rep 2022;71(RR-3)), MME table"


@dataclass(frozen=True)
class Drug:
    """A drug of the analgesic list: its code, name, whether it is an opioid and its CDC 2022 factor."""

    code: str
    name: str
    opioid: bool
    oral_factor: float | None = None
    transdermal_factor: float | None = None
    source: str = ""


DRUGS: tuple[Drug, ...] = (
    Drug("none", "No analgesic", opioid=False),
    Drug("codeine", "Codeine", True, oral_factor=0.15, source=_CDC_2022),
    Drug("fentanyl", "Fentanyl", True, transdermal_factor=2.4, source=_CDC_2022 + " (transdermal, mcg/hr)"),
    Drug("hydrocodone", "Hydrocodone", True, oral_factor=1.0, source=_CDC_2022),
    Drug("hydromorphone", "Hydromorphone", True, oral_factor=5.0, source=_CDC_2022),
    Drug("methadone", "Methadone", True, oral_factor=4.7, source=_CDC_2022),
    Drug("morphine", "Morphine", True, oral_factor=1.0, source=_CDC_2022),
    Drug("oxycodone", "Oxycodone", True, oral_factor=1.5, source=_CDC_2022),
    Drug("oxymorphone", "Oxymorphone", True, oral_factor=3.0, source=_CDC_2022),
    Drug("tapentadol", "Tapentadol", True, oral_factor=0.4, source=_CDC_2022),
    Drug("tramadol", "Tramadol", True, oral_factor=0.2, source=_CDC_2022),
    Drug("other_opioid", "Other opioid", True),
    Drug("paracetamol", "Paracetamol (acetaminophen)", opioid=False),
    Drug("nsaid", "NSAID (ibuprofen, naproxen, diclofenac, celecoxib, ...)", opioid=False),
    Drug("gabapentinoid", "Gabapentin or pregabalin", opioid=False),
    Drug("other_non_opioid", "Other non-opioid analgesic", opioid=False),
)
BY_DRUG = {drug.code: drug for drug in DRUGS}
ROUTES = (
    ("oral", "Oral"), ("transdermal", "Transdermal patch"), ("buccal_sublingual", "Buccal or sublingual"),
    ("intravenous", "Intravenous"), ("subcutaneous", "Subcutaneous"), ("intramuscular", "Intramuscular"),
    ("rectal", "Rectal"), ("other", "Other"),
)  # fmt: skip
UNITS = (("mg", "mg per dose"), ("mcg_per_hour", "mcg per hour (patch)"), ("mcg", "mcg per dose"))

ITEMS = (
    Item("drug", "Drug", kind="code", options=tuple(AnswerOption(d.code, d.name) for d in DRUGS)),
    Item("dose", "Dose per administration (patch: rate)", kind="decimal", minimum=0, maximum=100_000),
    Item("unit", "Dose unit", kind="code", options=tuple(AnswerOption(c, label) for c, label in UNITS)),
    Item("route", "Route", kind="code", options=tuple(AnswerOption(c, label) for c, label in ROUTES)),
    Item("doses_per_day", "Administrations per day (as taken)", kind="decimal", minimum=0, maximum=48),
)

MEASURE = Measure(
    code="mme_per_day",
    label="Opioid dose, oral morphine mg equivalents per day (CDC 2022)",
    minimum=0,
    maximum=1_000_000,
    higher_is_better=False,
    mcid=None,
    mcid_source="no MCID is established for MME/day",
    unit="mg/d",
    decimals=1,
    codes=(Code(VERTEBRO, "mme-per-day", "Total daily opioid dose in morphine milligram equivalents"),),
)

RULE = (
    "Daily MME = sum over opioid entries of dose (mg) × administrations per day × CDC 2022 factor; a "
    "fentanyl patch counts rate (mcg/hr) × 2.4. Non-opioids count 0; 'none' records no analgesic (0). An "
    "opioid entry by a route or unit the CDC table does not convert, or with a dose or frequency missing, "
    "makes the day's MME unknown."
)


def entry_mme(entry: Mapping[str, object]) -> tuple[float | None, str | None]:
    """MME/day of one entry, or ``(None, why)`` when the CDC table cannot convert it."""
    drug = BY_DRUG[str(entry["drug"])]
    if not drug.opioid:
        return 0.0, None
    dose, unit, route, per_day = entry["dose"], entry["unit"], entry["route"], entry["doses_per_day"]
    if dose is None:
        return None, f"{drug.name}: no dose"
    if route == "transdermal" and drug.transdermal_factor is not None:
        if unit != "mcg_per_hour":
            return None, f"{drug.name} patch: give the dose in mcg_per_hour, not {unit}"
        return float(dose) * drug.transdermal_factor, None  # type: ignore[arg-type]
    if route != "oral" or drug.oral_factor is None:
        return None, f"{drug.name} by route {route}: the CDC 2022 table gives no conversion factor"
    if unit != "mg":
        return None, f"{drug.name} oral: give the dose in mg, not {unit}"
    if per_day is None:
        return None, f"{drug.name}: no administrations per day"
    return float(dose) * float(per_day) * drug.oral_factor, None  # type: ignore[arg-type]


def score(answers: Mapping[str, object]) -> Score:
    """Daily MME of one assessment's entries (see :data:`RULE`)."""
    entries = [entry for entry in answers.get("entries") or [] if entry.get("drug") is not None]  # type: ignore[union-attr]
    if not entries:
        return Score({"mme_per_day": None}, ("analgesics: no entry, not even 'none': use not recorded",))
    total, notes = 0.0, []
    for entry in entries:
        mme, why = entry_mme(entry)
        if mme is None:
            notes.append(f"analgesics: {why}")
        else:
            total += mme
    return Score({"mme_per_day": None if notes else total}, tuple(notes))


ANALGESICS = Instrument(
    code="analgesics",
    name="Analgesic use",
    version="vertebro 1 (CDC 2022 MME factors)",
    items=ITEMS,
    measures=(MEASURE,),
    scorer=score,
    scoring_rule=RULE,
    timepoints=tuple(tp.code for tp in SCHEDULE if tp.code != "post"),
    licence="vertebro's own record; the MME factors are the CDC's (public domain).",
    reference="Dowell D et al. MMWR Recomm Rep 2022;71(RR-3):1-95.",
    repeating=True,
)
