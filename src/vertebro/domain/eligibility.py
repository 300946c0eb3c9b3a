"""Eligibility for vertebral augmentation at intake (SIR/ACR–ASNR–ASSR practice parameters;
Barr 2014 multisociety position statement), as a checklist.

An absolute contraindication blocks the procedure unless an investigator overrides it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import Vocabulary

INDICATION = Vocabulary(
    "indication",
    (
        ("osteoporotic_refractory", "Painful osteoporotic fracture refractory to medical therapy"),
        ("osteoporotic_immobile", "Pain prevents ambulation despite 24 h of analgesia"),
        ("osteolytic_metastasis", "Painful osteolytic metastasis or myeloma"),
        ("aggressive_haemangioma", "Aggressive haemangioma"),
    ),
)

ABSOLUTE_CONTRAINDICATION = Vocabulary(
    "absolute contraindication",
    (
        ("asymptomatic", "Asymptomatic or steadily improving fracture"),
        ("infection", "Osteomyelitis, discitis or sepsis"),
        ("coagulopathy", "Uncorrected coagulopathy"),
        ("allergy", "Allergy to PMMA or contrast"),
    ),
)

RELATIVE_CONTRAINDICATION = Vocabulary(
    "relative contraindication",
    (
        ("retropulsion", "Retropulsion or posterior wall defect with canal compromise"),
        ("epidural_tumour", "Epidural tumour extension"),
        ("vertebra_plana", "Collapse over 70% (vertebra plana)"),
        ("radicular_pain", "Radicular pain"),
    ),
)


@dataclass(frozen=True)
class EligibilityVerdict:
    """Outcome of the checklist.

    Attributes
    ----------
    eligible : bool
        At least one indication and no absolute contraindication.
    blocked : bool
        An absolute contraindication is present: the procedure needs an investigator's override.
    reasons : tuple of str
        Human sentences explaining the verdict.
    cautions : tuple of str
        Relative contraindications present (allowed, but to weigh).
    """

    eligible: bool
    blocked: bool
    reasons: tuple[str, ...]
    cautions: tuple[str, ...]


def assess_eligibility(
    *, indications: list[str], absolute: list[str], relative: list[str]
) -> EligibilityVerdict:
    """Apply the checklist. Codes are validated against the vocabularies above."""
    indications = [INDICATION.parse(code) for code in indications]
    absolute = [ABSOLUTE_CONTRAINDICATION.parse(code) for code in absolute]
    relative = [RELATIVE_CONTRAINDICATION.parse(code) for code in relative]
    reasons: list[str] = []
    if not indications:
        reasons.append("No indication for augmentation is recorded.")
    for code in absolute:
        reasons.append(f"Absolute contraindication: {ABSOLUTE_CONTRAINDICATION.label(code)}.")
    cautions = tuple(f"Relative contraindication: {RELATIVE_CONTRAINDICATION.label(c)}." for c in relative)
    blocked = bool(absolute)
    return EligibilityVerdict(
        eligible=bool(indications) and not blocked,
        blocked=blocked,
        reasons=tuple(reasons),
        cautions=cautions,
    )
