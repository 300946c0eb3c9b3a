"""Patient-reported follow-up (issue 9): invitation states, channels, reminders and link tokens.

Pure rules, no Django. An invitation asks one patient for one timepoint's pain score while that
timepoint's window is open. Its life:

``scheduled`` (created, nothing sent) → ``sent`` (first message out) → ``reminded`` (a reminder out)
→ ``answered`` (the patient gave the score), or ``expired`` (the window closed first), ``failed``
(every channel refused the message) or ``opted_out`` (the patient asked for no more messages).
The last four are final.

Link tokens: :func:`new_token` draws 256 bits (``secrets.token_urlsafe(32)``); only
:func:`token_hash` (SHA-256, hex) is stored, so a copy of the database holds no working link.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from .vocabulary import Vocabulary

INVITATION_STATE = Vocabulary(
    "invitation state",
    (
        ("scheduled", "Scheduled"),
        ("sent", "Sent"),
        ("reminded", "Reminded"),
        ("answered", "Answered"),
        ("expired", "Expired"),
        ("failed", "Failed"),
        ("opted_out", "Opted out"),
    ),
)
OPEN_STATES = ("scheduled", "sent", "reminded")
FINAL_STATES = ("answered", "expired", "failed", "opted_out")

CHANNEL = Vocabulary("channel", (("email", "Email"), ("sms", "Text message (SMS)")))

#: What one message record says happened. A run claims due invitations and writes their messages
#: ``queued`` (committed); just before handing one to the mail or SMS server it commits ``sending``,
#: just after ``sent`` (or ``failed``/``bounced``). A run that dies leaves its messages behind: a
#: ``queued`` one was never attempted and is sent by a later run (with a new link); a ``sending`` one
#: may or may not have gone out, becomes ``uncertain`` and is never sent again. So each message goes
#: out at most once, and at most one message per killed run is uncertain. ``cancelled``: not sent,
#: because the score came in, the patient opted out or the window closed after the claim.
MESSAGE_STATUS = Vocabulary(
    "message status",
    (
        ("queued", "Queued"),
        ("sending", "Being sent"),
        ("sent", "Sent"),
        ("failed", "Failed"),
        ("bounced", "Bounced"),
        ("uncertain", "Uncertain (the run stopped while sending)"),
        ("cancelled", "Not sent (answered, opted out or closed meanwhile)"),
    ),
)
MESSAGE_KIND = Vocabulary("message kind", (("invitation", "Invitation"), ("reminder", "Reminder")))

#: Days after the first message at which reminders go, while the window is open and no score exists.
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (3, 7)

#: Timepoints a patient is asked about at home: every follow-up after the first week. Baseline and
#: the post-procedure score are taken in hospital, by staff.
PATIENT_REPORTED_TIMEPOINTS: tuple[str, ...] = ("1w", "1m", "3m", "6m", "12m")

TOKEN_BYTES = 32  # 256 bits, over the 128-bit floor


def new_token() -> str:
    """A fresh, unguessable link token (URL-safe, 43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 of a token, hex: what the registry stores and looks links up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_reminder_days(text: str | None) -> tuple[int, ...]:
    """Reminder offsets from ``VERTEBRO_REMINDER_DAYS`` ("3,7"); empty text means no reminders.

    Raises
    ------
    ValueError
        When an offset is not a positive whole number of days, naming it.
    """
    if text is None:
        return DEFAULT_REMINDER_DAYS
    days = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or int(part) < 1:
            raise ValueError(f"VERTEBRO_REMINDER_DAYS: {part!r} is not a whole number of days (write e.g. 3,7)")
        days.append(int(part))
    return tuple(sorted(set(days)))


def next_reminder_at(first_sent_at: datetime, reminders_sent: int, reminder_days: tuple[int, ...]) -> datetime | None:
    """When the next reminder is due, or ``None`` when every reminder has gone."""
    if reminders_sent >= len(reminder_days):
        return None
    return first_sent_at + timedelta(days=reminder_days[reminders_sent])
