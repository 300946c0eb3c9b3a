"""Counts that describe what the registry holds (for `vertebro demo` and `vertebro db check`)."""

from __future__ import annotations

from django.db.models import Count

from ..models import FollowUp, Fracture, ImportBatch, PainAssessment, Patient, Procedure, Site


def registry_counts() -> dict[str, int]:
    return {
        "sites": Site.objects.count(),
        "patients": Patient.objects.count(),
        "fractures": Fracture.objects.count(),
        "procedures": Procedure.objects.count(),
        "pain assessments": PainAssessment.objects.count(),
        "follow-ups": FollowUp.objects.count(),
        "imports": ImportBatch.objects.count(),
    }


def assessments_by_timepoint() -> dict[str, int]:
    rows = PainAssessment.objects.values("timepoint").annotate(n=Count("id"))
    return {row["timepoint"]: row["n"] for row in rows}
