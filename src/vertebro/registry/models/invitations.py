"""Survey invitations for patient-reported follow-up (issue 9) and every message sent for them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ...domain.invitations import CHANNEL, INVITATION_STATE, MESSAGE_KIND, MESSAGE_STATUS, OPEN_STATES
from .base import check, in_vocabulary
from .clinical import TIMEPOINT, PainAssessment, Procedure
from .people import Patient


class Invitation(models.Model):
    """One patient asked for one timepoint's score of one procedure, while its window is open.

    States are those of :data:`vertebro.domain.invitations.INVITATION_STATE`. ``next_send_at`` is when
    the sender has work for it (the first message, then each reminder); ``None`` once nothing more is
    due. The link tokens live on the messages (each message its own link, only its hash stored): every
    link of an invitation works until the invitation is answered or its window closes.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="invitations")
    timepoint = models.CharField(max_length=12, choices=TIMEPOINT.choices())
    opens_on = models.DateField()
    closes_on = models.DateField(help_text="The window's last day: the links stop working after it.")
    state = models.CharField(max_length=12, choices=INVITATION_STATE.choices(), default="scheduled")
    created_at = models.DateTimeField(auto_now_add=True)
    first_sent_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    next_send_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    assessment = models.OneToOneField(
        PainAssessment, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )

    class Meta:
        ordering = ["-opens_on", "id"]
        indexes = [models.Index(fields=["state", "next_send_at"], name="invitation_due")]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "timepoint"], name="invitation_one_per_timepoint"),
            check("invitation_state_known", in_vocabulary("state", INVITATION_STATE), "unknown invitation state"),
            check("invitation_window_in_order", Q(opens_on__lte=models.F("closes_on")), "a window closes after it opens"),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.timepoint}, {self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class InvitationMessage(models.Model):
    """One message of an invitation on one channel: its kind, what happened, and its link's hash.

    No address and no message text are kept: both are in the patient's record and the templates.
    ``detail`` is the mail or SMS server's answer on a failure or bounce (it never holds the address).
    """

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=12, choices=MESSAGE_KIND.choices())
    channel = models.CharField(max_length=8, choices=CHANNEL.choices())
    status = models.CharField(max_length=12, choices=MESSAGE_STATUS.choices(), default="queued")
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the link token (never the token).")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["invitation_id", "created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="message_by_status")]
        constraints = [
            check("message_kind_known", in_vocabulary("kind", MESSAGE_KIND), "unknown message kind"),
            check("message_channel_known", in_vocabulary("channel", CHANNEL), "unknown channel"),
            check("message_status_known", in_vocabulary("status", MESSAGE_STATUS), "unknown message status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {self.status}"
