"""The registry's content by natural keys (no ids, versions or timestamps), to compare two registries."""

from __future__ import annotations

from vertebro.registry.models import FollowUp, Fracture, PainAssessment, Patient, Procedure, TreatedLevel


def registry_snapshot() -> dict[str, list[tuple]]:
    return {
        "patients": sorted(Patient.objects.values_list("study_id", "site__code", "sex", "birth_date", "age_at_index", "mrn", "name")),
        "procedures": sorted(Procedure.objects.values_list("patient__study_id", "performed_on", "kind", "approach")),
        "fractures": sorted(Fracture.objects.values_list("patient__study_id", "level", "etiology", "pathologic_cause", "pathologic_basis"), key=str),
        "treated": sorted(TreatedLevel.objects.values_list("procedure__patient__study_id", "procedure__performed_on", "fracture__level", "cement_ml"), key=str),
        "follow_ups": sorted(FollowUp.objects.values_list("patient__study_id", "seen_on", "venue", "recurrent_pain")),
        "pain": sorted(
            PainAssessment.objects.values_list("patient__study_id", "timepoint", "assessed_on", "score", "instrument", "venue", "follow_up__seen_on"),
            key=str,
        ),
    }


def registry_wipe() -> None:
    """Delete every clinical record (their history keeps deletion rows), keeping sites and imports."""
    for model in (PainAssessment, FollowUp, TreatedLevel, Procedure, Fracture, Patient):
        model.objects.all().delete()
