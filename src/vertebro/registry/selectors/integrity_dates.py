"""`vertebro db check`: dates already stored in an order that cannot be (the rules of
``domain/chronology.py`` and ``rules.check_assessment_days``, which forms, services and imports apply
to new data — records written before those rules, or by hand, may still break them)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import DateField, ExpressionWrapper, F, Min, Q

from ...domain import chronology, rules
from ..models import FollowUp, Fracture, PainAssessment, Procedure, TreatedLevel


def _days_from_procedure(days: int) -> ExpressionWrapper:
    return ExpressionWrapper(F("procedure__performed_on") + timedelta(days=days), output_field=DateField())


def date_order_querysets() -> list[tuple[str, object]]:
    """(check in words, queryset of the records that break it)."""
    first_checklist = Procedure.objects.annotate(first_checklist=Min("patient__eligibility_assessments__assessed_on"))
    return [
        (chronology.RULE_PROCEDURE_BEFORE_BIRTH, Procedure.objects.filter(patient__birth_date__gt=F("performed_on"))),
        (chronology.RULE_ONSET_BEFORE_BIRTH, Fracture.objects.filter(patient__birth_date__gt=F("onset_date"))),
        (chronology.RULE_PROCEDURE_BEFORE_ONSET + " (treated level ids)", TreatedLevel.objects.filter(fracture__onset_date__gt=F("procedure__performed_on"))),
        (chronology.RULE_PROCEDURE_BEFORE_CHECKLIST, first_checklist.filter(first_checklist__gt=F("performed_on"))),
        (
            f"pain scores lie from {-rules.ASSESSMENT_DAYS_MIN} days before to {rules.ASSESSMENT_DAYS_MAX} days after their procedure",
            PainAssessment.objects.filter(
                Q(assessed_on__lt=_days_from_procedure(rules.ASSESSMENT_DAYS_MIN)) | Q(assessed_on__gt=_days_from_procedure(rules.ASSESSMENT_DAYS_MAX))
            ),
        ),
        ("follow-ups come after their procedure", FollowUp.objects.filter(seen_on__lt=F("procedure__performed_on"))),
    ]
