"""Who runs an import or export from the command line, and what their registry account allows.

``vertebro import|export --as USER`` (or ``VERTEBRO_USER``) names the registry account the work is done
for. It is checked against the account's roles and sites as the web app checks them: importing into a
site needs the coordinator, investigator or admin role there; an identified export needs a role that
sees identifiers at every exported site (analysts export de-identified data only); nobody exports a
site they have no role at. Both the account and the operating-system user are recorded with the
import or export. Without an account the command runs as the operating-system user alone, as anyone
with the database's credentials can.

The account is not authenticated here: whoever runs the command holds the database credentials and
could write to it directly. Naming the account attributes the work, holds it to that account's
permissions and puts both names in the audit record, so a mismatch is visible.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

import pandas as pd

from ..errors import VertebroError

USER_ENV = "VERTEBRO_USER"
IMPORT_ROLES_TEXT = "the coordinator, investigator or admin role"


def current_os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return ""


@dataclass(frozen=True)
class Actor:
    """The registry account (if named) and the operating-system user of one command.

    Attributes
    ----------
    user : User or None
        The account; None when no account was named.
    os_user : str
    access : vertebro.registry.web.permissions.Access or None
        The account's roles by site.
    """

    user: object | None
    os_user: str
    access: object | None = None

    @property
    def username(self) -> str:
        return self.user.get_username() if self.user is not None else ""

    def _roles_text(self) -> str:
        roles = [f"{m.role} at {m.site_code}" for m in self.access.memberships]
        return ", ".join(roles) if roles else "no role at any site"

    def editable_site_codes(self) -> set[str]:
        return {m.site_code for m in self.access.memberships if self.access.can_edit(m.site_id)}

    def import_site_problems(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``line, column, value, rule`` of the rows whose site the account may not import into
        (empty without an account)."""
        from .problems import no_problems

        if self.user is None or frame.empty or "site" not in frame:
            return no_problems()
        allowed = self.editable_site_codes()
        refused = frame.loc[~frame["site"].isin(allowed), ["line", "site"]]
        if refused.empty:
            return no_problems()
        return pd.DataFrame({
            "line": refused["line"].to_numpy(),
            "column": "site",
            "value": refused["site"].astype(str).to_numpy(),
            "rule": [
                f"{self.username} ({self._roles_text()}) may not import into {site}: importing needs {IMPORT_ROLES_TEXT} there"
                for site in refused["site"]
            ],
        })

    def export_site_codes(self, site_codes: list[str] | None, *, deidentified: bool) -> list[str] | None:
        """The sites an export covers: those asked for, or all the account's sites when none are.

        Raises
        ------
        VertebroError
            When the account has no role at a site asked for, or asks for an identified export of a
            site where its role does not see identifiers.
        """
        if self.user is None:
            return site_codes
        roles = {m.site_code: m for m in self.access.memberships}
        wanted = list(site_codes) if site_codes else sorted(roles)
        if not wanted:
            raise VertebroError(f"{self.username} has no role at any site, so there is nothing they may export")
        foreign = [code for code in wanted if code not in roles]
        if foreign:
            raise VertebroError(
                f"{self.username} has no role at {', '.join(foreign)} ({self._roles_text()}): an account exports its own sites only"
            )
        if not deidentified:
            hidden = [code for code in wanted if not self.access.sees_phi(roles[code].site_id)]
            if hidden:
                raise VertebroError(
                    f"{self.username} is {self._roles_text()}: that role sees de-identified data only at "
                    f"{', '.join(hidden)}; add --deidentified"
                )
        return wanted


def actor_of(user, *, os_user: str | None = None) -> Actor:  # noqa: ANN001
    """The actor of ``user`` (an account, or None) with its roles by site."""
    from ..registry.web.permissions import access_of_user

    os_user = current_os_user() if os_user is None else os_user
    return Actor(user=user, os_user=os_user, access=access_of_user(user) if user is not None else None)


def actor_for(username: str | None, *, os_user: str | None = None) -> Actor:
    """The actor of a command: the account ``username`` (else ``VERTEBRO_USER``), if any.

    Raises
    ------
    VertebroError
        When the account does not exist or is deactivated.
    """
    from django.contrib.auth import get_user_model

    username = (username or os.environ.get(USER_ENV, "")).strip()
    if not username:
        return actor_of(None, os_user=os_user)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise VertebroError(f"there is no registry account {username!r} (--as or {USER_ENV}); see `vertebro user list`")
    if not user.is_active:
        raise VertebroError(f"the registry account {username!r} is deactivated; it can no longer import or export")
    return actor_of(user, os_user=os_user)
