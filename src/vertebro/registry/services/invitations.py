"""Survey invitations: create them when a window opens, send them and their reminders, take answers.

:func:`invitations_run` is everything ``vertebro invitations send`` does, safe to run every few minutes
and twice at once:

1. **close** open invitations whose window closed (``expired``), whose score is in (``answered``),
   or whose patient opted out, withdrew or lost their consent (``opted_out``);
2. **create** an invitation (``scheduled``, due now) for every procedure and patient-reported timepoint
   whose window is open today, without a score or an invitation, for patients who consented to
   contact, did not opt out or withdraw, and have an email address or a mobile number;
3. **send** what is due, in claimed batches. The claim is one transaction: on PostgreSQL the due rows
   are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (a second run takes the next rows), on SQLite the
   transaction holds the database's write lock from its start (``transaction_mode=IMMEDIATE``), so
   two runs claim one after the other. Inside it every invitation is checked again (score still
   missing, no opt-out, window open), its messages are written ``queued`` and its ``next_send_at``
   moves past a lease so nobody claims it again. Each message is then marked ``sending`` (only if its
   invitation is still open: an answer that came in meanwhile cancels it), handed to the server,
   and marked ``sent``, ``bounced`` or ``failed``.

Crash safety (at-most-once, see :data:`vertebro.domain.invitations.MESSAGE_STATUS`): a run killed
at any point leaves ``queued`` messages (never attempted: a later run sends them, after the lease,
with a new link) and at most one ``sending`` message per run, which a later run records as
``uncertain`` and never sends again. No message is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ...domain.errors import DomainError
from ...domain.invitations import (
    DEFAULT_REMINDER_DAYS,
    OPEN_STATES,
    PATIENT_REPORTED_TIMEPOINTS,
    new_token,
    next_reminder_at,
    token_hash,
)
from ...domain.timepoints import BY_CODE
from ..models import Invitation, InvitationMessage, PainAssessment, Patient, Procedure
from .records import record_update
from .senders import MessageSender, SendFailed, SendRefused

#: How long a claim holds: a run that has not finished a claimed message by then is taken for dead.
DEFAULT_LEASE = timedelta(minutes=10)
#: When a message could not be sent now (server down), the invitation is tried again after this.
RETRY_AFTER = timedelta(minutes=15)
#: Failed attempts of one message kind before the invitation is given up as ``failed``.
MAX_ATTEMPTS = 3
CLAIM_BATCH = 500


@dataclass
class RunCounts:
    """What one run did (or, with ``dry_run``, would do)."""

    created: int = 0
    expired: int = 0
    answered: int = 0
    opted_out: int = 0
    sent: int = 0
    reminders: int = 0
    failed: int = 0
    bounced: int = 0
    cancelled: int = 0
    uncertain: int = 0
    due: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


def _score_exists() -> Exists:
    return Exists(PainAssessment.objects.filter(procedure_id=OuterRef("procedure_id"), timepoint=OuterRef("timepoint")))


def _contactable() -> Q:
    return Q(contact_consent_on__isnull=False, contact_opted_out_at__isnull=True, withdrawn_on__isnull=True)


def _reachable() -> Q:
    return (Q(email__isnull=False) & ~Q(email="")) | (Q(mobile__isnull=False) & ~Q(mobile=""))


@transaction.atomic
def invitations_close(*, today: date, now: datetime) -> dict[str, int]:
    """Close open invitations that must get nothing more; returns how many went to each final state."""
    still_open = Invitation.objects.filter(state__in=OPEN_STATES)
    closed = {"answered": 0, "opted_out": 0, "expired": 0}
    for invitation in still_open.filter(_score_exists()).only("id", "procedure_id", "timepoint"):
        score = PainAssessment.objects.filter(procedure_id=invitation.procedure_id, timepoint=invitation.timepoint).first()
        Invitation.objects.filter(pk=invitation.pk).update(state="answered", assessment=score, next_send_at=None, closed_at=now)
        closed["answered"] += 1
    not_contactable = Patient.objects.exclude(_contactable())
    closed["opted_out"] = still_open.filter(patient__in=not_contactable).update(state="opted_out", next_send_at=None, closed_at=now)
    closed["expired"] = still_open.filter(closes_on__lt=today).update(state="expired", next_send_at=None, closed_at=now)
    return closed


def _due_windows(today: date) -> list[tuple[str, date, date]]:
    """(timepoint, earliest, latest procedure date) whose window is open today."""
    return [
        (code, today - timedelta(days=BY_CODE[code].last_day), today - timedelta(days=BY_CODE[code].first_day))
        for code in PATIENT_REPORTED_TIMEPOINTS
    ]


def invitations_create_due(*, today: date, now: datetime, dry_run: bool = False) -> int:
    """Create the invitations whose window is open today (idempotent: one per procedure and timepoint)."""
    patients = Patient.objects.filter(_contactable() & _reachable())
    created = 0
    for code, earliest, latest in _due_windows(today):
        timepoint = BY_CODE[code]
        procedures = (
            Procedure.objects.filter(performed_on__gte=earliest, performed_on__lte=latest, patient__in=patients)
            .exclude(Exists(PainAssessment.objects.filter(procedure_id=OuterRef("pk"), timepoint=code)))
            .exclude(Exists(Invitation.objects.filter(procedure_id=OuterRef("pk"), timepoint=code)))
            .values_list("pk", "patient_id", "performed_on")
        )
        rows = [
            Invitation(
                patient_id=patient_id, procedure_id=pk, timepoint=code, state="scheduled", next_send_at=now,
                opens_on=timepoint.opens_on(performed_on), closes_on=timepoint.closes_on(performed_on),
            )
            for pk, patient_id, performed_on in procedures.iterator(chunk_size=5000)
        ]
        if dry_run:
            created += len(rows)
            continue
        # A concurrent run may create the same ones: the unique (procedure, timepoint) keeps one.
        for start in range(0, len(rows), 5000):
            with transaction.atomic():
                created += len(Invitation.objects.bulk_create(rows[start : start + 5000], ignore_conflicts=True))
    return created


@dataclass(frozen=True)
class _Claimed:
    message_id: int
    invitation_id: int
    kind: str
    channel: str
    address: str
    first_name: str
    token: str
    closes_on: date


def _addresses(patient: Patient, senders: dict[str, MessageSender]) -> list[tuple[str, str]]:
    pairs = [("email", patient.email), ("sms", patient.mobile)]
    return [(channel, address) for channel, address in pairs if address and channel in senders]


def _claim(*, now: datetime, today: date, senders: dict[str, MessageSender], lease: timedelta, limit: int) -> list[_Claimed]:
    """Claim up to ``limit`` due invitations and queue their messages (one committed transaction)."""
    with transaction.atomic():
        due = Invitation.objects.filter(state__in=OPEN_STATES, next_send_at__lte=now).order_by("next_send_at", "id")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        invitations = list(due.select_related("patient")[:limit])
        if not invitations:
            return []
        answered = set(
            PainAssessment.objects.filter(procedure_id__in=[i.procedure_id for i in invitations])
            .values_list("procedure_id", "timepoint")
        )
        claimed, messages, tokens = [], [], []
        for invitation in invitations:
            patient = invitation.patient
            kind = "invitation" if invitation.first_sent_at is None else "reminder"
            if (invitation.procedure_id, invitation.timepoint) in answered:
                _close(invitation, "answered", now)
                continue
            if not patient.may_be_contacted:
                _close(invitation, "opted_out", now)
                continue
            if invitation.closes_on < today:
                _close(invitation, "expired", now)
                continue
            addresses = _addresses(patient, senders)
            if not addresses:
                _close(invitation, "failed", now)
                continue
            for channel, address in addresses:
                token = new_token()
                messages.append(InvitationMessage(invitation=invitation, kind=kind, channel=channel, token_hash=token_hash(token)))
                tokens.append((invitation, kind, channel, address, token))
            invitation.next_send_at = now + lease
            invitation.save(update_fields=["next_send_at"])
        InvitationMessage.objects.bulk_create(messages)
        for message, (invitation, kind, channel, address, token) in zip(messages, tokens):
            claimed.append(_Claimed(message.pk, invitation.pk, kind, channel, address, invitation.patient.first_name, token, invitation.closes_on))
        return claimed


def _close(invitation: Invitation, state: str, now: datetime) -> None:
    invitation.state, invitation.next_send_at, invitation.closed_at = state, None, now
    invitation.save(update_fields=["state", "next_send_at", "closed_at"])


def _recover(*, now: datetime, lease: timedelta, counts: RunCounts, reminder_days: tuple[int, ...]) -> None:
    """Messages of runs that died: ``sending`` ones become ``uncertain`` (never resent; their invitation
    moves on as if sent), ``queued`` ones are dropped so their invitation is claimed again."""
    stale = now - lease
    with transaction.atomic():
        uncertain = list(InvitationMessage.objects.filter(status="sending", created_at__lt=stale).select_related("invitation"))
        for message in uncertain:
            InvitationMessage.objects.filter(pk=message.pk).update(status="uncertain", finished_at=now, detail="the run stopped while handing it to the server: it may or may not have arrived, so it is not sent again")
        for invitation_id in {m.invitation_id for m in uncertain}:
            first = next(m for m in uncertain if m.invitation_id == invitation_id)
            _advance(Invitation.objects.get(pk=invitation_id), first.kind, now=first.created_at, reminder_days=reminder_days)
        counts.uncertain += len(uncertain)
        # Never attempted: no copy of their link exists anywhere, so they are dropped and their
        # invitations are due again at once (a new message, with a new link).
        queued = InvitationMessage.objects.filter(status="queued", created_at__lt=stale)
        retry = set(queued.values_list("invitation_id", flat=True)) - {m.invitation_id for m in uncertain}
        queued.update(status="cancelled", finished_at=now, detail="queued by a run that stopped before trying: sent again by a later run")
        Invitation.objects.filter(pk__in=retry, state__in=OPEN_STATES).update(next_send_at=now)


def _advance(invitation: Invitation, kind: str, *, now: datetime, reminder_days: tuple[int, ...]) -> None:
    """An invitation one of whose messages went: the next state and when the next reminder is due."""
    if invitation.state not in OPEN_STATES:
        return
    if kind == "invitation" and invitation.first_sent_at is None:
        invitation.first_sent_at, invitation.state = now, "sent"
    elif kind == "reminder":
        invitation.reminders_sent += 1
        invitation.state = "reminded"
    invitation.next_send_at = next_reminder_at(invitation.first_sent_at or now, invitation.reminders_sent, reminder_days)
    invitation.save(update_fields=["first_sent_at", "state", "reminders_sent", "next_send_at"])


def message_text(*, first_name: str, kind: str, link: str, closes_on: date) -> tuple[str, str]:
    """Subject and body of a message: the first name only, the link, the opt-out link, plain words."""
    hello = f"Hello {first_name}," if first_name else "Hello,"
    subject = "How is your back? Two short questions" if kind == "invitation" else "Reminder: how is your back?"
    body = (
        f"{hello}\n\n"
        "Your spine team would like to know how your back pain is now. It takes under a minute:\n"
        f"{link}\n\n"
        f"The link works until {closes_on:%d %B %Y}.\n\n"
        f"To get no more of these messages: {link}/stop\n"
    )
    return subject, body


def invitations_send_due(
    *, now: datetime, today: date, senders: dict[str, MessageSender], reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS,
    lease: timedelta = DEFAULT_LEASE, batch: int = CLAIM_BATCH, counts: RunCounts | None = None,
    on_message: Callable[[], None] | None = None,
) -> RunCounts:
    """Send every due message (see the module's docstring for claiming and crash safety)."""
    counts = counts or RunCounts()
    _recover(now=now, lease=lease, counts=counts, reminder_days=reminder_days)
    base = settings.VERTEBRO_PUBLIC_URL
    while claimed := _claim(now=now, today=today, senders=senders, lease=lease, limit=batch):
        outcome: dict[int, list[tuple[str, str]]] = {}
        for item in claimed:
            status = _send_one(item, senders[item.channel], base=base, now=now)
            outcome.setdefault(item.invitation_id, []).append((item.kind, status))
            counts.by_channel[item.channel] = counts.by_channel.get(item.channel, 0) + (status == "sent")
            if status == "sent":
                counts.sent += item.kind == "invitation"
                counts.reminders += item.kind == "reminder"
            else:
                setattr(counts, status, getattr(counts, status) + 1)
            if on_message:
                on_message()
        _settle(outcome, now=now, reminder_days=reminder_days)
    for sender in senders.values():
        close = getattr(sender, "close", None)
        if close:
            close()
    return counts


def _send_one(item: _Claimed, sender: MessageSender, *, base: str, now: datetime) -> str:
    # Last check, committed: only a queued message of a still-open invitation goes out.
    started = InvitationMessage.objects.filter(pk=item.message_id, status="queued", invitation__state__in=OPEN_STATES).update(status="sending")
    if not started:
        InvitationMessage.objects.filter(pk=item.message_id, status="queued").update(status="cancelled", finished_at=timezone.now(), detail="not sent: the invitation closed after it was queued")
        return "cancelled"
    subject, body = message_text(first_name=item.first_name, kind=item.kind, link=f"{base}/r/{item.token}", closes_on=item.closes_on)
    try:
        sender.send(address=item.address, subject=subject, body=body)
    except SendRefused as error:
        status, detail = "bounced", str(error)
    except SendFailed as error:
        status, detail = "failed", str(error)
    else:
        status, detail = "sent", ""
    InvitationMessage.objects.filter(pk=item.message_id).update(status=status, finished_at=timezone.now(), detail=detail[:500])
    return status


@transaction.atomic
def _settle(outcome: dict[int, list[tuple[str, str]]], *, now: datetime, reminder_days: tuple[int, ...]) -> None:
    """After a batch: each invitation moves on if any of its messages went, else is retried or failed."""
    for invitation in Invitation.objects.select_for_update().filter(pk__in=list(outcome)) if connection.vendor == "postgresql" else Invitation.objects.filter(pk__in=list(outcome)):
        results = outcome[invitation.pk]
        kind = results[0][0]
        statuses = {status for _, status in results}
        if "sent" in statuses:
            _advance(invitation, kind, now=now, reminder_days=reminder_days)
        elif "cancelled" in statuses or invitation.state not in OPEN_STATES:
            continue
        elif statuses == {"bounced"}:
            _close(invitation, "failed", now)
        else:
            attempts = invitation.messages.filter(kind=kind, status="failed").count()
            if attempts >= MAX_ATTEMPTS * max(1, len(results)):
                _close(invitation, "failed", now)
            else:
                invitation.next_send_at = now + RETRY_AFTER
                invitation.save(update_fields=["next_send_at"])


def invitations_run(
    *, senders: dict[str, MessageSender], now: datetime | None = None, dry_run: bool = False,
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS, lease: timedelta = DEFAULT_LEASE,
    on_message: Callable[[], None] | None = None,
) -> RunCounts:
    """Close, create and send (see the module's docstring). ``dry_run`` writes and sends nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = RunCounts()
    if dry_run:
        counts.created = invitations_create_due(today=today, now=now, dry_run=True)
        counts.due = Invitation.objects.filter(state__in=OPEN_STATES, next_send_at__lte=now, closes_on__gte=today).count() + counts.created
        return counts
    closed = invitations_close(today=today, now=now)
    counts.expired, counts.answered, counts.opted_out = closed["expired"], closed["answered"], closed["opted_out"]
    counts.created = invitations_create_due(today=today, now=now)
    return invitations_send_due(now=now, today=today, senders=senders, reminder_days=reminder_days, lease=lease, counts=counts, on_message=on_message)


# --- the patient's side -------------------------------------------------------------------------


class LinkNotUsable(DomainError):
    """Unknown, used, expired or closed link; the page says one friendly sentence for all of them."""

    def __init__(self) -> None:
        super().__init__("token", None, "this link no longer works")


def invitation_for_token(*, token: str, today: date) -> Invitation:
    """The open invitation a link token belongs to, or :class:`LinkNotUsable` (for every other case)."""
    if not token or len(token) > 100:
        raise LinkNotUsable()
    message = InvitationMessage.objects.filter(token_hash=token_hash(token)).select_related("invitation__patient", "invitation__procedure").first()
    if message is None or message.status in ("queued", "cancelled"):
        raise LinkNotUsable()
    invitation = message.invitation
    if invitation.state not in OPEN_STATES or invitation.closes_on < today or not invitation.patient.may_be_contacted:
        raise LinkNotUsable()
    return invitation


@transaction.atomic
def invitation_answer(*, token: str, score: object, recurrent_pain: bool, today: date | None = None) -> Invitation:
    """Record the patient's own answer through the assessment service (source ``patient``).

    Raises
    ------
    LinkNotUsable
        For an unknown, used, expired or opted-out link; nothing is written.
    DomainError
        For a score outside 0–10 (the rule named); nothing is written.
    """
    from .clinical import follow_up_record, pain_assessment_record

    today = today or timezone.localdate()
    invitation = invitation_for_token(token=token, today=today)
    invitation = Invitation.objects.select_for_update().select_related("procedure").get(pk=invitation.pk)
    if invitation.state not in OPEN_STATES:  # a second answer that raced the first
        raise LinkNotUsable()
    reason = f"answered by the patient through invitation {invitation.pk}"
    follow_up = follow_up_record(procedure=invitation.procedure, seen_on=today, venue="other", recurrent_pain=recurrent_pain, reason=reason)
    assessment = pain_assessment_record(
        procedure=invitation.procedure, assessed_on=today, score=score, timepoint=invitation.timepoint,
        follow_up=follow_up, source="patient", reason=reason,
    )
    invitation.state, invitation.assessment, invitation.next_send_at, invitation.closed_at = "answered", assessment, None, timezone.now()
    invitation.save(update_fields=["state", "assessment", "next_send_at", "closed_at"])
    return invitation


@transaction.atomic
def invitation_opt_out(*, token: str, today: date | None = None) -> None:
    """The patient asks for no more messages: recorded on the patient, every open invitation closed."""
    today = today or timezone.localdate()
    invitation = invitation_for_token(token=token, today=today)
    now = timezone.now()
    patient = invitation.patient
    record_update(record=patient, expected_version=patient.version, changes={"contact_opted_out_at": now},
                  reason=f"the patient opted out of messages through invitation {invitation.pk}")
    Invitation.objects.filter(patient=patient, state__in=OPEN_STATES).update(state="opted_out", next_send_at=None, closed_at=now)


@transaction.atomic
def patient_contact_record(
    *, patient: Patient, consent_on: date | None, email: str | None = None, mobile: str | None = None, user=None,  # noqa: ANN001
    opted_out: bool = False, expected_version: int | None = None,
) -> Patient:
    """Record the patient's contact consent (its date and who recorded it) and their addresses.

    Consent given again after an opt-out starts contact again (the opt-out stays in the history);
    ``opted_out`` records that the patient asked staff for no more messages (its first time is kept)."""
    changes: dict[str, object] = {"email": email or None, "mobile": mobile or None, "contact_consent_on": consent_on,
                                  "contact_consent_by": user if consent_on else None}
    if opted_out:
        changes["contact_opted_out_at"] = patient.contact_opted_out_at or timezone.now()
    elif consent_on is not None:
        changes["contact_opted_out_at"] = None
    version = patient.version if expected_version is None else expected_version
    return record_update(record=patient, expected_version=version, changes=changes, user=user, reason="contact consent recorded")
