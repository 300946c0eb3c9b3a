"""`vertebro user token create|revoke|list`: per-user REST API tokens (issue 11)."""

from __future__ import annotations

import typer
from rich.table import Table

from ..errors import VertebroError
from .app import console
from .registry_cmds import open_registry
from .web_cmds import _user, user_app

token_app = typer.Typer(
    help="REST API tokens (/api/v1/): a token acts as its user, with that user's sites and roles.", no_args_is_help=True
)
user_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    username: str = typer.Argument(..., help="Login name of the user the token acts as."),
    label: str = typer.Option(..., "--label", help="What the token is for, e.g. 'nightly R pull'."),
    days: int = typer.Option(90, "--days", help="Days until it expires (1 to 366)."),
) -> None:
    """Create a token and print it once: only its hash is stored, so copy it now. Use it as
    `Authorization: Bearer <token>`."""
    open_registry()
    from ..registry.services.api_tokens import api_token_create

    created = api_token_create(user=_user(username), label=label, days=days)
    console.print(f"[green]Token {created.token.pk}[/] for {username}, expires {created.token.expires_at:%Y-%m-%d %H:%M} UTC.")
    console.print("Copy it now; it is not shown again:")
    console.print(created.secret, soft_wrap=True, highlight=False)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="Token number, from `vertebro user token list`.")) -> None:
    """Revoke a token: requests carrying it are refused (401) from now on."""
    open_registry()
    from ..registry.models import ApiToken
    from ..registry.services.api_tokens import api_token_revoke

    token = ApiToken.objects.filter(pk=token_id).select_related("user").first()
    if token is None:
        raise VertebroError(f"there is no API token {token_id}; `vertebro user token list` shows them")
    api_token_revoke(token=token)
    console.print(f"Token {token_id} ({token.prefix}…) of {token.user.username} revoked.")


@token_app.command("list")
def token_list(username: str = typer.Argument(None, help="Only this user's tokens.")) -> None:
    """List tokens (never the secrets): number, user, label, prefix, created, expires, last used, state."""
    open_registry()
    from django.utils import timezone

    from ..registry.models import ApiToken

    tokens = ApiToken.objects.select_related("user").order_by("pk")
    if username:
        tokens = tokens.filter(user=_user(username))
    table = Table(title="API tokens")
    for column in ("#", "user", "label", "prefix", "created", "expires", "last used", "state"):
        table.add_column(column)
    now = timezone.now()
    for t in tokens:
        state = "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"
        table.add_row(str(t.pk), t.user.username, t.label, t.prefix + "…", f"{t.created_at:%Y-%m-%d}", f"{t.expires_at:%Y-%m-%d}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never", state)
    console.print(table)
