"""Registry models. Every clinical model keeps its history (django-simple-history)."""

from .api import ApiCallLog, ApiToken
from .audit import ExportLog, ImportBatch
from .clinical import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    PainAssessment,
    Procedure,
    TreatedLevel,
)
from .drafts import FormDraft
from .people import ROLE, Patient, Site, StaffMembership

__all__ = [
    "ApiCallLog",
    "ApiToken",
    "ROLE",
    "Complication",
    "EligibilityAssessment",
    "ExportLog",
    "FollowUp",
    "FormDraft",
    "Fracture",
    "ImportBatch",
    "PainAssessment",
    "Patient",
    "Procedure",
    "Site",
    "StaffMembership",
    "TreatedLevel",
]
