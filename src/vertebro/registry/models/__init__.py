"""Registry models. Every clinical model keeps its history (django-simple-history)."""

from .api import ApiCallLog, ApiToken
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
from .instruments import AnalgesicEntry, InstrumentResponse, InstrumentScore
from .invitations import Invitation, InvitationMessage
from .people import ROLE, Patient, Site, SiteMrnSystem, StaffMembership

__all__ = [
    "ApiCallLog",
    "ApiToken",
    "ROLE",
    "AnalgesicEntry",
    "Complication",
    "EligibilityAssessment",
    "ExportLog",
    "FollowUp",
    "FormDraft",
    "Fracture",
    "ImportBatch",
    "InstrumentResponse",
    "InstrumentScore",
    "Invitation",
    "InvitationMessage",
    "MissingData",
    "PainAssessment",
    "Patient",
    "Procedure",
    "Site",
    "SiteMrnSystem",
    "StaffMembership",
    "TreatedLevel",
]
