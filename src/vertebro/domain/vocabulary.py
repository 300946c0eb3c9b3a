"""Controlled vocabularies of the registry (DESIGN.md §2, §4).

Each vocabulary is a fixed, ordered set of codes with human labels. Codes are what the database
stores and what files carry; labels are what people read. Django models turn them into choices and
CHECK constraints, importers accept either a code or a label, so one list rules every layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DomainError


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of ``(code, label)`` pairs.

    Attributes
    ----------
    name : str
        What the vocabulary describes, used in error messages ("etiology").
    items : tuple of (str, str)
        The codes and their labels, in display order.
    """

    name: str
    items: tuple[tuple[str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.items)

    def label(self, code: str) -> str:
        return dict(self.items)[code]

    def choices(self) -> list[tuple[str, str]]:
        return list(self.items)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def parse(self, value: object, *, field: str | None = None) -> str:
        """Return the code for ``value``, given as a code or a label (case and spacing ignored).

        Raises
        ------
        DomainError
            When the value is neither a code nor a label of this vocabulary.
        """
        text = str(value).strip() if value is not None else ""
        if text in self.codes:
            return text
        folded = text.casefold().replace("-", " ").replace("_", " ")
        for code, label in self.items:
            if folded in (code.casefold().replace("_", " "), label.casefold().replace("-", " ")):
                return code
        raise DomainError(
            field or self.name, value, f"{self.name} must be one of: {', '.join(self.codes)}"
        )


SEX = Vocabulary("sex", (("F", "Female"), ("M", "Male")))

ETIOLOGY = Vocabulary(
    "etiology",
    (
        ("osteoporotic", "Osteoporotic (insufficiency)"),
        ("pathologic", "Pathologic (neoplastic)"),
        ("traumatic", "Traumatic"),
    ),
)
#: The two groups the seed study compares; traumatic fractures are kept out rather than guessed.
STUDY_GROUPS = ("osteoporotic", "pathologic")

PATHOLOGIC_CAUSE = Vocabulary(
    "pathologic cause",
    (
        ("metastasis", "Metastasis"),
        ("myeloma", "Multiple myeloma"),
        ("lymphoma", "Lymphoma"),
        ("haemangioma", "Aggressive haemangioma"),
        ("other", "Other"),
        ("unspecified", "Not recorded"),
    ),
)

PATHOLOGIC_BASIS = Vocabulary(
    "pathologic basis",
    (
        ("imaging", "Imaging with known malignancy"),
        ("biopsy", "Biopsy / pathology confirmation"),
        ("imaging_and_biopsy", "Imaging and biopsy"),
        ("unspecified", "Not recorded"),
    ),
)

VENUE = Vocabulary(
    "venue",
    (
        ("neurointerventional_clinic", "Neurointerventional clinic"),
        ("primary_care", "Primary care"),
        ("pain_clinic", "Pain management clinic"),
        ("telephone", "Telephone"),
        ("other", "Other"),
    ),
)

INSTRUMENT = Vocabulary(
    "instrument",
    (
        ("vps", "Visual pain scale 0-10"),
        ("nrs", "Numeric rating scale 0-10"),
        ("vas100", "Visual analogue scale 100 mm (stored divided by 10)"),
    ),
)

PROCEDURE_KIND = Vocabulary(
    "procedure kind", (("vertebroplasty", "Vertebroplasty"), ("kyphoplasty", "Kyphoplasty"))
)

APPROACH = Vocabulary(
    "approach",
    (
        ("unipedicular", "Transpedicular, unilateral"),
        ("bipedicular", "Transpedicular, bilateral"),
        ("parapedicular", "Parapedicular / extrapedicular"),
        ("other", "Other"),
    ),
)

BIOPSY_RESULT = Vocabulary(
    "biopsy result",
    (
        ("malignant", "Malignant"),
        ("benign", "Benign / osteoporotic"),
        ("nondiagnostic", "Non-diagnostic"),
        ("pending", "Pending"),
    ),
)

COMPLICATION = Vocabulary(
    "complication",
    (
        ("cement_leak", "Cement leakage"),
        ("pulmonary_embolism", "Pulmonary cement embolism"),
        ("adjacent_fracture", "New adjacent fracture"),
        ("neuro_deficit", "Neurological deficit"),
        ("infection", "Infection"),
        ("death_30d", "Death within 30 days"),
    ),
)

LEAK_ROUTE = Vocabulary(
    "leak route",
    (
        ("basivertebral", "Basivertebral vein"),
        ("segmental", "Segmental vein"),
        ("paravertebral", "Paravertebral / cortical"),
        ("disc", "Disc"),
        ("epidural", "Epidural / canal"),
        ("foraminal", "Foraminal"),
    ),
)

ANALGESIC = Vocabulary(
    "analgesics",
    (
        ("none", "None"),
        ("non_opioid", "Non-opioid (paracetamol, NSAID)"),
        ("weak_opioid", "Weak opioid"),
        ("strong_opioid", "Strong opioid"),
    ),
)

#: Why a scheduled assessment was not obtained (a missing-data code). "Not yet due" is never recorded:
#: it follows from the timepoint window and the data cut-off.
MISSING_REASON = Vocabulary(
    "missing-data reason",
    (
        ("not_reachable", "Not reachable"),
        ("declined", "Declined"),
        ("too_ill", "Too ill to answer"),
        ("died", "Died"),
        ("withdrawn", "Withdrawn from the registry"),
        ("window_missed", "Window missed"),
    ),
)

#: Who put an assessment into the registry: staff in the web app, a file import, a FHIR import, a
#: client of the REST API, or the patient answering an invitation.
ASSESSMENT_SOURCE = Vocabulary(
    "assessment source",
    (
        ("staff", "Entered by staff"),
        ("import", "Imported from a file"),
        ("fhir", "Imported from FHIR"),
        ("api", "Sent through the API"),
        ("patient", "Reported by the patient"),
    ),
)
