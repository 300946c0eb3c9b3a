"""REST API credentials and the log of every API call (issue 11)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A per-user API token. Only its SHA-256 digest is stored: the token itself is shown once, when
    created, and cannot be recovered. ``prefix`` (the first characters) names the token in lists and
    lets an owner tell their tokens apart without the secret."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, help_text="What the token is for (e.g. 'nightly R pull').")
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id", "-created_at"]

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user}"


class ApiCallLog(models.Model):
    """One API call: who, when, method, path (ids in paths are database keys, never identifiers;
    the query string is never logged, so no search term lands here) and the response status."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-at"]
