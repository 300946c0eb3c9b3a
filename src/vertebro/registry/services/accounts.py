"""Staff accounts and their roles at sites (the web app's users)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from ...domain.errors import DomainError
from ..models import ROLE, Site, StaffMembership

DEMO_PASSWORD_ENV = "VERTEBRO_DEMO_PASSWORD"
DEMO_ROLES = ("coordinator", "investigator", "analyst")
DEMO_SUFFIXES = ("a", "b")


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    check_password_strength: bool = True,
):
    """Create a staff account. The password is checked by Django's validators (length, common words,
    similarity to the username) unless ``check_password_strength`` is off (demo accounts only).

    Raises
    ------
    DomainError
        When the username is taken or blank, or the password is too weak (``rule`` says why).
    """
    User = get_user_model()
    username = username.strip()
    if not username:
        raise DomainError("username", username, "a username is required")
    if User.objects.filter(username=username).exists():
        raise DomainError("username", username, "this username is already taken")
    user = User(username=username, email=email.strip(), is_staff=is_staff or is_superuser, is_superuser=is_superuser)
    if check_password_strength:
        _check_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def user_set_password(*, user, password: str, check_password_strength: bool = True):  # noqa: ANN001
    if check_password_strength:
        _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def _check_password(password: str, user) -> None:  # noqa: ANN001
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError("password", "(hidden)", " ".join(exc.messages)) from None


def membership_set(*, user, site: Site, role: str) -> StaffMembership:  # noqa: ANN001
    """Give ``user`` ``role`` at ``site`` (replacing any role they held there)."""
    role = ROLE.parse(role, field="role")
    membership, _ = StaffMembership.objects.update_or_create(user=user, site=site, defaults={"role": role})
    return membership


def membership_remove(*, user, site: Site) -> bool:  # noqa: ANN001
    """Take ``user`` off ``site``; True when they had a role there."""
    deleted, _ = StaffMembership.objects.filter(user=user, site=site).delete()
    return bool(deleted)


@dataclass(frozen=True)
class DemoAccount:
    """One demo login.

    Attributes
    ----------
    username : str
    password : str
        The same for every demo account of one call; empty when the accounts kept their passwords.
    role : str
        ``admin``, ``investigator``, ``coordinator`` or ``analyst``.
    site_codes : tuple of str
        The sites where the account holds that role.
    """

    username: str
    password: str
    role: str
    site_codes: tuple[str, ...]


@transaction.atomic
def demo_accounts_create(*, sites: Sequence[Site], password: str | None = None) -> tuple[list[DemoAccount], str]:
    """Create (or bring back in line) one demo account per role at two sites.

    ``coordinator_a``, ``investigator_a`` and ``analyst_a`` work at ``sites[0]``; the ``_b`` accounts at
    ``sites[1]``; ``admin`` is administrator at both and may use the Django admin (superuser).

    The password is ``password``, else ``VERTEBRO_DEMO_PASSWORD``, and every demo account gets it. When
    neither is given, accounts that all exist already keep the passwords they have (a password someone
    changed is never reset behind their back); otherwise a new random one is set on all of them. Calling
    again is safe: the same accounts and roles result.

    Returns
    -------
    (accounts, password_state) : (list of DemoAccount, str)
        ``"given"`` (argument or environment), ``"generated"`` (new and random: the caller should show it
        once) or ``"kept"`` (nothing changed; ``DemoAccount.password`` is empty).
    """
    if len(sites) < 2:
        raise DomainError("sites", [s.code for s in sites], "demo accounts need two sites")
    site_a, site_b = sites[0], sites[1]
    plan: list[tuple[str, str, tuple[Site, ...]]] = [("admin", "admin", (site_a, site_b))]
    for role in DEMO_ROLES:
        for suffix, site in zip(DEMO_SUFFIXES, (site_a, site_b)):
            plan.append((f"{role}_{suffix}", role, (site,)))

    User = get_user_model()
    password = password or os.environ.get(DEMO_PASSWORD_ENV) or None
    if password is not None:
        state = "given"
    else:
        existing = list(User.objects.filter(username__in=[username for username, _, _ in plan]))
        kept = len(existing) == len(plan) and all(user.has_usable_password() for user in existing)
        state = "kept" if kept else "generated"
        password = "" if kept else secrets.token_urlsafe(12)

    accounts = []
    for username, role, role_sites in plan:
        superuser = role == "admin"
        user, _ = User.objects.get_or_create(username=username)
        user.is_active = True
        user.is_staff = superuser
        user.is_superuser = superuser
        if state != "kept":
            user.set_password(password)
        user.save()
        StaffMembership.objects.filter(user=user).exclude(site__in=role_sites).delete()
        for site in role_sites:
            membership_set(user=user, site=site, role=role)
        accounts.append(DemoAccount(username, password, role, tuple(s.code for s in role_sites)))
    return accounts, state


def user_deactivate(*, user):  # noqa: ANN001
    """End an account's logins for good, keeping the account: the audit trail names it (who entered,
    changed, imported or exported what), so it is never deleted. Its sessions stop working at once
    (Django refuses an inactive user's session)."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user
