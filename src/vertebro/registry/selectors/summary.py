"""Counts that describe what the registry holds (for `vertebro demo` and `vertebro db check`)."""

from __future__ import annotations

from django.db.models import Count

from ...domain.timepoints import schedule_order
from ..models import FollowUp, Fracture, ImportBatch, InstrumentResponse, PainAssessment, Patient, Procedure, Site
from .flat import procedure_etiology


def registry_counts() -> dict[str, int]:
    return {
        "sites": Site.objects.count(),
        "patients": Patient.objects.count(),
        "fractures": Fracture.objects.active().count(),
        "procedures": Procedure.objects.active().count(),
        "pain assessments": PainAssessment.objects.active().count(),
        "follow-ups": FollowUp.objects.active().count(),
        "instrument responses": InstrumentResponse.objects.filter(missing_reason__isnull=True).count(),
        "instruments recorded as missing": InstrumentResponse.objects.filter(missing_reason__isnull=False).count(),
        "imports": ImportBatch.objects.count(),
    }


def assessments_by_timepoint() -> dict[str, int]:
    """Pain scores per timepoint, in schedule order."""
    rows = PainAssessment.objects.active().values("timepoint").annotate(n=Count("id"))
    counts = {row["timepoint"]: row["n"] for row in rows}
    return {code: counts[code] for code in sorted(counts, key=schedule_order)}


def patients_by_site_and_etiology() -> dict[tuple[str, str], int]:
    """Patients per site and etiology of their treated fractures (pathologic wins over traumatic over
    osteoporotic, as in the flat format); patients with no treated fracture count as ``not treated``."""
    etiologies: dict[int, set[str]] = {}
    for patient_id, etiology in Fracture.objects.active().filter(treatments__isnull=False).values_list("patient_id", "etiology"):
        etiologies.setdefault(patient_id, set()).add(etiology)
    counts: dict[tuple[str, str], int] = {}
    for patient_id, site in Patient.objects.values_list("id", "site__code"):
        key = (site, procedure_etiology(etiologies.get(patient_id, ())) or "not treated")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
