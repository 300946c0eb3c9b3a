"""Reads for patient-reported follow-up (issue 9): a patient's invitations, who has one open, and
capture by timepoint and channel."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Max, Q

from ...domain.invitations import OPEN_STATES
from ..models import Invitation


def patient_invitations(*, patient_id: int) -> list[Invitation]:
    """Every invitation of a patient, newest window first, with ``messages_sent`` (sent or uncertain),
    ``messages_failed`` (failed or bounced) and ``last_message_at`` annotated."""
    return list(
        Invitation.objects.filter(patient_id=patient_id)
        .annotate(
            messages_sent=Count("messages", filter=Q(messages__status__in=("sent", "uncertain"))),
            messages_failed=Count("messages", filter=Q(messages__status__in=("failed", "bounced"))),
            last_message_at=Max("messages__finished_at"),
        )
        .order_by("-opens_on", "-id")
    )


def open_invitation_keys(*, procedure_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(procedure id, timepoint) of the open invitations among these procedures: the worklist marks them
    so staff call only the patients who were asked and did not answer."""
    ids = list(procedure_ids)
    if not ids:
        return set()
    return set(Invitation.objects.filter(procedure_id__in=ids, state__in=OPEN_STATES).values_list("procedure_id", "timepoint"))
