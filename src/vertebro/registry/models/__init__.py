"""Registry models. Every clinical model keeps its history (django-simple-history)."""

from .audit import ExportLog, ImportBatch
from .clinical import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    MissingData,
    PainAssessment,
    Procedure,
    TreatedLevel,
)
from .drafts import FormDraft
from .people import ROLE, Patient, Site, StaffMembership

__all__ = [
    "ROLE",
    "Complication",
    "EligibilityAssessment",
    "ExportLog",
    "FollowUp",
    "FormDraft",
    "Fracture",
    "ImportBatch",
    "MissingData",
    "PainAssessment",
    "Patient",
    "Procedure",
    "Site",
    "StaffMembership",
    "TreatedLevel",
]
