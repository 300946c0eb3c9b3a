"""What a person had typed into a form sent after their session expired, kept for them alone."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FormDraft(models.Model):
    """The fields of one form (as posted, every value of every name), for one user and one form page.

    Kept on the server beside the records it will become: never in a URL, a cookie or a log. Shown
    once the same person opens the same page again after logging in; replaced by their next draft of
    that page, deleted when they send the form again or after ``DRAFT_KEEP_DAYS``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=300, help_text="The form page's path (ids only, never names).")
    data = models.JSONField(help_text="Field name -> list of posted values.")
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "path"], name="form_draft_one_per_user_and_page")]

    def __str__(self) -> str:
        return f"draft of {self.path}"
