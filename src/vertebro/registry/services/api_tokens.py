"""API tokens: create (shown once), revoke, and resolve a presented token to its user."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ...errors import VertebroError
from ..models import ApiToken

#: Tokens read ``vtb_`` + 40 URL-safe characters; the prefix shown in lists is the first 12.
TOKEN_PREFIX = "vtb_"
PREFIX_LENGTH = 12
MAX_DAYS = 366


def token_digest(raw: str) -> str:
    """SHA-256 of the token: a token is 240 random bits, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    """A new token. ``secret`` is the only copy of the token; it is never stored."""

    token: ApiToken
    secret: str


def api_token_create(*, user, label: str, days: int = 90) -> CreatedToken:  # noqa: ANN001
    """A new token for ``user``, valid for ``days`` days (1 to 366)."""
    if not 1 <= days <= MAX_DAYS:
        raise VertebroError(f"--days {days}: a token is valid for 1 to {MAX_DAYS} days; give a number in that range")
    if not user.is_active:
        raise VertebroError(f"{user.username} is deactivated; an inactive account cannot hold API tokens")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(
        user=user,
        label=label,
        prefix=secret[:PREFIX_LENGTH],
        digest=token_digest(secret),
        expires_at=timezone.now() + timedelta(days=days),
    )
    token.full_clean()
    token.save()
    return CreatedToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token from now on (it stays listed as revoked)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_user(*, secret: str):  # noqa: ANN201
    """The active user a valid, unexpired, unrevoked token belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(secret), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # At most one write a minute per token: listing 100 pages should not mean 100 updates.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
