"""The named callers of the access matrices (web pages and API): every role at site A, at site B, at
both, and nobody. ``add_roster`` gives the base test case's world the accounts it lacks."""

from __future__ import annotations

from vertebro.registry.services.accounts import membership_set

#: username → (role at site A, role at site B); None: not a member there.
USERS: dict[str, tuple[str | None, str | None]] = {
    "coordinator_a": ("coordinator", None),
    "investigator_a": ("investigator", None),
    "analyst_a": ("analyst", None),
    "site_admin_a": ("admin", None),
    "coordinator_b": (None, "coordinator"),
    "investigator_b": (None, "investigator"),
    "analyst_b": (None, "analyst"),
    "site_admin_b": (None, "admin"),
    "analyst_a_coordinator_b": ("analyst", "coordinator"),
    "superuser": ("admin", "admin"),
    "anonymous": (None, None),
}
EDIT_ROLES = {"admin", "investigator", "coordinator"}


def add_roster(world, django_user_model) -> None:  # noqa: ANN001
    """Create every account of :data:`USERS` the world does not have yet, with its memberships."""
    for username, (role_a, role_b) in USERS.items():
        if username in world.users or username == "anonymous":
            continue
        user = django_user_model.objects.create_user(username, password=world.password)
        for site, role in ((world.site_a, role_a), (world.site_b, role_b)):
            if role:
                membership_set(user=user, site=site, role=role)
        world.users[username] = user
