"""The demo's patient-reported follow-up: a few recently treated patients who agreed to be contacted,
their invitations written into ``var/mail/`` and one link a newcomer can open (issue 9)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from .app import console

#: (study id, name, email): synthetic people; only the first name ever appears in a message.
RECENT_PATIENTS: tuple[tuple[str, str, str], ...] = (
    ("DEMO-INV-1", "Ada Example", "ada@example.org"),
    ("DEMO-INV-2", "Ben Example", "ben@example.org"),
    ("DEMO-INV-3", "Cleo Example", "cleo@example.org"),
)
#: Treated this many days before the demo runs: the 1-month window (days 15 to 60) is open.
TREATED_DAYS_AGO = 20
_FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def recently_treated_patients() -> int:
    """Create the demo's contactable patients (once: a second run finds them and adds nothing).

    Each has a baseline score of 8, a vertebroplasty 20 days ago and contact consent with an email
    address recorded by ``coordinator_a``, so ``invitations send`` invites them to the 1-month score."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from ..registry.models import Patient, Site
    from ..registry.services.clinical import fracture_create, pain_assessment_record, patient_create, procedure_create
    from ..registry.services.invitations import patient_contact_record

    site = Site.objects.order_by("code").first()
    coordinator = get_user_model().objects.filter(username="coordinator_a").first()
    treated_on = timezone.localdate() - timedelta(days=TREATED_DAYS_AGO)
    created = 0
    for study_id, name, email in RECENT_PATIENTS:
        if Patient.objects.filter(study_id=study_id).exists():
            continue
        with transaction.atomic():
            patient = patient_create(study_id=study_id, site=site, sex="F", age_at_index=74, name=name, user=coordinator)
            fracture = fracture_create(patient=patient, level="L1", etiology="osteoporotic",
                                       onset_date=treated_on - timedelta(days=14), user=coordinator)
            procedure = procedure_create(patient=patient, performed_on=treated_on, treated=[(fracture, 4.0)], user=coordinator)
            pain_assessment_record(procedure=procedure, assessed_on=treated_on - timedelta(days=1), score=8,
                                   timepoint="baseline", user=coordinator)
            patient.refresh_from_db()
            patient_contact_record(patient=patient, consent_on=treated_on - timedelta(days=1), email=email, user=coordinator)
        created += 1
    return created


def send_and_show_a_link() -> None:
    """Run ``invitations send`` into ``var/mail/`` (never a real mail server) and print one open link."""
    from django.conf import settings

    from ..registry.services.invitations import invitations_run
    from ..registry.services.senders import EmailSender

    mail_dir = Path(settings.EMAIL_FILE_PATH)
    with console.status("Sending the demo's survey invitations into var/mail/"):
        counts = invitations_run(senders={"email": EmailSender(backend=_FILE_BACKEND, file_path=str(mail_dir))})
    messages = sorted(mail_dir.glob("*.log")) if mail_dir.is_dir() else []
    console.print(
        f"[green]Invitations[/] sent {counts.sent} and {counts.reminders} reminders; the messages are in "
        f"{mail_dir.resolve()} ({len(messages)} files).",
        highlight=False, soft_wrap=True,
    )
    link = open_link(messages, base=settings.VERTEBRO_PUBLIC_URL)
    if link:
        console.print(f"[bold]Answer as a patient:[/] start `vertebro serve` and open {link}", highlight=False, soft_wrap=True)
    else:
        console.print("Every demo invitation has been answered or has closed: no open link to show.", highlight=False)


def open_link(files: list[Path], *, base: str) -> str | None:
    """The first link in the mail files whose invitation is still open (a used or closed one is skipped)."""
    from django.utils import timezone

    from ..registry.services.invitations import LinkNotUsable, invitation_for_token

    pattern = re.compile(re.escape(base) + r"/r/([A-Za-z0-9_-]+)(?!/stop|[A-Za-z0-9_-])")
    today = timezone.localdate()
    for path in files:
        for token in pattern.findall(path.read_text(encoding="utf-8", errors="replace")):
            try:
                invitation_for_token(token=token, today=today)
            except LinkNotUsable:
                continue
            return f"{base}/r/{token}"
    return None
