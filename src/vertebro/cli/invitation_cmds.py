"""`vertebro invitations`: patient-reported follow-up by email and SMS (issue 9)."""

from __future__ import annotations

import os
from datetime import date

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ..errors import VertebroError
from .app import app, console
from .registry_cmds import open_registry

invitations_app = typer.Typer(help="Patient-reported follow-up: survey invitations, reminders, contact consent.", no_args_is_help=True)
app.add_typer(invitations_app, name="invitations")


@invitations_app.command("send")
def send(
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what is due; create, change and send nothing."),
) -> None:
    """Do all due invitation work: close finished invitations, create those whose window opened, send
    invitations and reminders.

    Safe to run every few minutes from cron or a systemd timer, and twice at once (each message is
    claimed by one run; a run killed half-way never makes a later one send a message twice). Mail goes
    through Django's SMTP backend (VERTEBRO_EMAIL_HOST, _PORT, _USE_TLS, _USER, _PASSWORD,
    VERTEBRO_EMAIL_FROM; VERTEBRO_EMAIL_BACKEND=file writes to var/mail/), SMS through VERTEBRO_SMS_URL
    (or VERTEBRO_SMS=file: var/sms/). Reminders go VERTEBRO_REMINDER_DAYS after the invitation (default 3,7).
    Links start with VERTEBRO_PUBLIC_URL. A message a killed run left unfinished is taken over after
    VERTEBRO_SEND_LEASE_SECONDS (600).
    """
    open_registry()
    from ..domain.invitations import parse_reminder_days
    from ..registry.services.invitations import invitations_run
    from ..registry.services.senders import configured_senders

    from datetime import timedelta

    from ..registry.services.invitations import DEFAULT_LEASE

    try:
        reminder_days = parse_reminder_days(os.environ.get("VERTEBRO_REMINDER_DAYS"))
        lease_text = os.environ.get("VERTEBRO_SEND_LEASE_SECONDS", "")
        lease = timedelta(seconds=int(lease_text)) if lease_text else DEFAULT_LEASE
    except ValueError as error:
        raise VertebroError(f"{error}: VERTEBRO_SEND_LEASE_SECONDS is a whole number of seconds") from error
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("send", total=None)
        counts = invitations_run(senders=configured_senders(), dry_run=dry_run, reminder_days=reminder_days, lease=lease,
                                 on_message=lambda: progress.advance(task))
    table = Table(title="invitations (dry run: nothing written or sent)" if dry_run else "invitations")
    table.add_column("what")
    table.add_column("how many", justify="right")
    rows = [("would be created" if dry_run else "created", counts.created)]
    if dry_run:
        rows.append(("messages due now (invitations)", counts.due))
    else:
        rows += [("invitations sent", counts.sent), ("reminders sent", counts.reminders), ("failed (retried later)", counts.failed),
                 ("bounced", counts.bounced), ("not sent: closed meanwhile", counts.cancelled),
                 ("uncertain (an earlier run stopped while sending)", counts.uncertain),
                 ("closed: answered", counts.answered), ("closed: expired", counts.expired), ("closed: opted out", counts.opted_out)]
    for what, n in rows:
        table.add_row(what, str(n))
    console.print(table)


@invitations_app.command("contact")
def contact(
    study_id: str = typer.Argument(..., help="The patient's study id."),
    consent_on: str = typer.Option(..., "--consent-on", help="The day the patient agreed to be contacted (YYYY-MM-DD); 'none' withdraws consent."),
    email: str = typer.Option("", "--email", help="Email address for invitations."),
    mobile: str = typer.Option("", "--mobile", help="Mobile number in international form (+CC...) for SMS invitations."),
    as_user: str = typer.Option("", "--as", help="The registry account recording the consent (or VERTEBRO_USER)."),
) -> None:
    """Record a patient's contact consent (date and by whom) and their email address or mobile number."""
    open_registry()
    from django.contrib.auth import get_user_model

    from ..registry.models import Patient
    from ..registry.services.invitations import patient_contact_record

    patient = Patient.objects.filter(study_id=study_id).first()
    if patient is None:
        raise VertebroError(f"no patient has study id {study_id!r}: check it with `vertebro export` or the web app")
    username = as_user or os.environ.get("VERTEBRO_USER", "")
    user = get_user_model().objects.filter(username=username).first() if username else None
    if username and user is None:
        raise VertebroError(f"there is no registry account {username!r}: `vertebro user list` shows them")
    try:
        day = None if consent_on.strip().lower() == "none" else date.fromisoformat(consent_on)
    except ValueError:
        raise VertebroError(f"--consent-on {consent_on!r} is not a date: write it as YYYY-MM-DD, or 'none'") from None
    patient_contact_record(patient=patient, consent_on=day, email=email, mobile=mobile, user=user)
    console.print(f"{study_id}: contact consent {'recorded for ' + day.isoformat() if day else 'withdrawn'}.")
