"""Drafts of forms sent after the session expired: nothing a person typed is lost to the idle timeout.

The idle-timeout middleware keeps the posted fields (:func:`form_draft_keep`) before it logs the
session out; when the same person opens the same form page after logging in again, the view shows the
form filled in from the draft (:func:`form_draft_for`) for them to check and send. Sending that form
(or any form of that page) ends the draft; an unused one is deleted after ``DRAFT_KEEP_DAYS``.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import QueryDict
from django.utils import timezone

from ..models import FormDraft

DRAFT_KEEP_DAYS = 7
#: Posted names that are never kept: the security token belongs to the ended session.
NOT_KEPT = ("csrfmiddlewaretoken",)


def _purge(user) -> None:  # noqa: ANN001
    FormDraft.objects.filter(user=user, saved_at__lt=timezone.now() - timedelta(days=DRAFT_KEEP_DAYS)).delete()


def form_draft_keep(*, user, path: str, data: QueryDict) -> FormDraft:  # noqa: ANN001
    """Keep what ``user`` posted to ``path`` (replacing an earlier draft of that page)."""
    _purge(user)
    fields = {name: values for name, values in data.lists() if name not in NOT_KEPT}
    draft, _ = FormDraft.objects.update_or_create(user=user, path=path, defaults={"data": fields})
    return draft


def form_draft_for(*, user, path: str) -> FormDraft | None:  # noqa: ANN001
    """The draft ``user`` left on ``path``, if it is still kept."""
    _purge(user)
    return FormDraft.objects.filter(user=user, path=path).first()


def form_draft_data(draft: FormDraft) -> QueryDict:
    """The draft as the form would have received it."""
    data = QueryDict(mutable=True)
    for name, values in draft.data.items():
        data.setlist(name, values)
    return data


def form_draft_discard(*, user, path: str) -> None:  # noqa: ANN001
    FormDraft.objects.filter(user=user, path=path).delete()
