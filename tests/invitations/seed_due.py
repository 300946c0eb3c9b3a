"""``python seed_due.py N``: N consented patients treated 20 days ago (their 1-month window open), each
with the address pN@example.org and a baseline score of 8, in the registry DATABASE_URL names (already initialised)."""

from __future__ import annotations

import sys
from datetime import date, timedelta


def main(n: int) -> None:
    from vertebro.registry.bootstrap import setup_django

    setup_django()
    from django.db import transaction
    from django.utils import timezone

    from vertebro.registry.models import Fracture, PainAssessment, Patient, Procedure, Site, TreatedLevel

    today = timezone.localdate()
    with transaction.atomic():
        site, _ = Site.objects.get_or_create(code="SITE-A", defaults={"name": "Site A"})
        patients = Patient.objects.bulk_create(
            Patient(study_id=f"P{i:06d}", site=site, sex="F", birth_date=date(1945, 1, 1), name=f"Pat{i} Doe",
                    email=f"p{i}@example.org", contact_consent_on=today - timedelta(days=20))
            for i in range(n)
        )
        fractures = Fracture.objects.bulk_create(Fracture(patient=p, level="L1", etiology="osteoporotic") for p in patients)
        procedures = Procedure.objects.bulk_create(Procedure(patient=p, performed_on=today - timedelta(days=20)) for p in patients)
        TreatedLevel.objects.bulk_create(TreatedLevel(procedure=pr, fracture=f, cement_ml=3) for pr, f in zip(procedures, fractures))
        PainAssessment.objects.bulk_create(  # the baseline staff took before the procedure
            PainAssessment(patient=p, procedure=pr, assessed_on=pr.performed_on - timedelta(days=1), score=8, timepoint="baseline")
            for p, pr in zip(patients, procedures)
        )


if __name__ == "__main__":
    main(int(sys.argv[1]))
