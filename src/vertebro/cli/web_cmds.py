"""Web app commands: `vertebro serve`, staff accounts (`vertebro user ...`) and sites (`vertebro site ...`)."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import typer
from rich.table import Table

from ..errors import VertebroError
from .app import app, console, err_console
from .registry_cmds import open_registry

user_app = typer.Typer(help="Staff accounts of the web app and their roles at sites.", no_args_is_help=True)
site_app = typer.Typer(help="Participating sites (like REDCap data access groups).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(site_app, name="site")

ROLES_HELP = "admin, investigator, coordinator or analyst"
#: Path only, never the query string: a patient search would otherwise land in the log.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


def _default_workers() -> int:
    return max(2, min(4, 2 * (os.cpu_count() or 1)))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_ready(host: str) -> None:
    """Refuse to serve an unmigrated registry, or a network address with the development secret key."""
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise VertebroError("the registry database is not up to date; run `vertebro init` first")
    if not _is_loopback(host):
        if not os.environ.get("VERTEBRO_SECRET_KEY") and not settings.DEBUG:
            raise VertebroError(
                f"serving on {host} needs a secret key of your own: set VERTEBRO_SECRET_KEY (and VERTEBRO_ALLOWED_HOSTS, "
                "VERTEBRO_HTTPS=1 behind TLS); `vertebro manage check --deploy` lists what is missing"
            )
        if host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
            err_console.print(
                f"[yellow]warning:[/] {host} is not in VERTEBRO_ALLOWED_HOSTS ({', '.join(settings.ALLOWED_HOSTS)}); "
                "requests naming other hosts get 400 Bad Request"
            )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1 keeps it on this machine)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port (1–65535)."),
    workers: int = typer.Option(_default_workers(), "--workers", help="Worker processes (default: 2 per CPU, 2 to 4)."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log each request (path only, never the query string)."),
) -> None:
    """Serve the web app with gunicorn (a production-grade WSGI server); static files are served by the
    app itself (WhiteNoise). The registry comes from DATABASE_URL as for every command."""
    # Workers keep their database connection between requests, and share one cache, unless told otherwise.
    os.environ.setdefault("VERTEBRO_CONN_MAX_AGE", "600")
    os.environ.setdefault("VERTEBRO_CACHE_DIR", str(Path(os.environ.get("VERTEBRO_HOME") or Path.cwd()) / "var" / "cache"))
    where = open_registry()
    from django.conf import settings
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    _check_ready(host)
    _check_port_free(host, port)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    connections.close_all()  # workers are forked: each opens its own connections

    from ..registry.web.wsgi import application

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "vertebro-web",
        # gunicorn's control socket sits at one path per user: a second server would fight over it.
        "control_socket_disable": True,
    }

    class VertebroServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # noqa: ANN202
            return application

    console.print(f"[green]Serving the registry[/] ({where}) at http://{host}:{port}/ with {workers} workers — Ctrl+C stops.")
    VertebroServer().run()


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another program holds in one sentence (gunicorn would retry, log and exit 1)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise VertebroError(f"cannot listen on {host}:{port} ({exc.strerror}): another program holds it; choose another with --port") from exc


def _site(code: str):  # noqa: ANN202
    from ..registry.models import Site

    site = Site.objects.filter(code=code).first()
    if site is None:
        known = ", ".join(Site.objects.values_list("code", flat=True)) or "none yet"
        raise VertebroError(f"there is no site {code!r} (known: {known}); create it with `vertebro site add CODE NAME`")
    return site


def _user(username: str):  # noqa: ANN202
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise VertebroError(f"there is no user {username!r}; create it with `vertebro user add`")
    return user


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise VertebroError("no password on standard input")
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Login name."),
    site: list[str] = typer.Option([], "--site", help="Site code where the user works (repeat for several)."),
    role: str = typer.Option("coordinator", "--role", help=f"Role at those sites: {ROLES_HELP}."),
    email: str = typer.Option("", "--email", help="E-mail address."),
    staff: bool = typer.Option(False, "--staff", help="May open the Django admin."),
    superuser: bool = typer.Option(False, "--superuser", help="Administrator of every site and of the admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input instead of asking."),
) -> None:
    """Create a staff account with a role at one or more sites. The password is asked twice (hidden)
    and must pass the password rules (at least 10 characters, not common, not like the username)."""
    open_registry()
    from django.db import transaction

    from ..registry.services.accounts import membership_set, user_create

    sites = [_site(code) for code in site]
    if not sites and not superuser:
        raise VertebroError("give at least one --site (or --superuser): a user without a site sees nothing")
    password = _read_password(password_stdin)
    with transaction.atomic():
        user = user_create(username=username, password=password, email=email, is_staff=staff, is_superuser=superuser)
        for s in sites:
            membership_set(user=user, site=s, role=role)
    where = ", ".join(s.code for s in sites) or "every site"
    console.print(f"[green]Created[/] {username}: {role if sites else 'admin'} at {where}.")


@user_app.command("grant")
def user_grant(
    username: str = typer.Argument(..., help="Login name."),
    site: str = typer.Option(..., "--site", help="Site code."),
    role: str = typer.Option(..., "--role", help=f"{ROLES_HELP}."),
) -> None:
    """Give a user a role at a site (replacing the role they had there)."""
    open_registry()
    from ..registry.services.accounts import membership_set

    membership_set(user=_user(username), site=_site(site), role=role)
    console.print(f"[green]{username}[/] is now {role} at {site}.")


@user_app.command("revoke")
def user_revoke(
    username: str = typer.Argument(..., help="Login name."),
    site: str = typer.Option(..., "--site", help="Site code."),
) -> None:
    """Take a user off a site: they no longer see its patients."""
    open_registry()
    from ..registry.services.accounts import membership_remove

    if not membership_remove(user=_user(username), site=_site(site)):
        raise VertebroError(f"{username} has no role at {site}")
    console.print(f"{username} no longer has access to {site}.")


@user_app.command("set-password")
def user_set_password_cmd(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password for a user."""
    open_registry()
    from ..registry.services.accounts import user_set_password

    user_set_password(user=_user(username), password=_read_password(password_stdin))
    console.print(f"Password of {username} changed.")


@user_app.command("list")
def user_list() -> None:
    """List the accounts and their roles by site."""
    open_registry()
    from django.contrib.auth import get_user_model

    table = Table(title="Staff accounts")
    for column in ("username", "active", "admin access", "roles"):
        table.add_column(column)
    for user in get_user_model().objects.order_by("username").prefetch_related("memberships__site"):
        roles = ", ".join(f"{m.role} at {m.site.code}" for m in user.memberships.all())
        table.add_row(user.username, "yes" if user.is_active else "no", "superuser" if user.is_superuser else "staff" if user.is_staff else "", roles or "—")
    console.print(table)


MRN_SYSTEM_HELP = (
    "An identifier system the site's MRNs are issued under (absolute URI, e.g. http://hospital.example.org); "
    "repeat for several. FHIR export writes the first; FHIR import recognises all of them."
)


@site_app.command("add")
def site_add(
    code: str = typer.Argument(..., help="Short code, e.g. NIR-1."),
    name_argument: str = typer.Argument(None, metavar="[NAME]", help="Full name of the centre (or --name)."),
    name: str = typer.Option(None, "--name", help="Full name of the centre."),
    mrn_system: list[str] = typer.Option(None, "--mrn-system", help=MRN_SYSTEM_HELP),
) -> None:
    """Register a participating site, optionally with the identifier systems of its MRNs."""
    open_registry()
    from django.db import transaction

    from ..registry.models import Site
    from ..registry.services.clinical import site_create, site_mrn_systems_set

    if name and name_argument and name != name_argument:
        raise VertebroError("give the site's name once: as NAME or as --name")
    full_name = name or name_argument
    if not full_name:
        raise VertebroError(f"a site needs its full name: `vertebro site add {code} --name \"Full name\"`")
    if Site.objects.filter(code=code).exists():
        raise VertebroError(f"site {code!r} already exists; change it with `vertebro site set {code} ...`")
    with transaction.atomic():
        site = site_create(code=code, name=full_name)
        systems = site_mrn_systems_set(site=site, systems=mrn_system or [])
    console.print(f"[green]Site {code}[/] added" + (f" with MRN system(s) {', '.join(systems)}." if systems else "."), highlight=False)


@site_app.command("set")
def site_set(
    code: str = typer.Argument(..., help="The site's code."),
    name: str = typer.Option(None, "--name", help="A new full name (the code stays)."),
    mrn_system: list[str] = typer.Option(None, "--mrn-system", help=MRN_SYSTEM_HELP + " Replaces the site's list."),
    no_mrn_systems: bool = typer.Option(False, "--no-mrn-systems", help="Remove every MRN system of the site."),
) -> None:
    """Change a site's name or the identifier systems of its MRNs (each change is in the history)."""
    open_registry()
    from django.db import transaction

    from ..registry.models import Site
    from ..registry.services.clinical import site_mrn_systems_set, site_rename

    site = Site.objects.filter(code=code).first()
    if site is None:
        known = ", ".join(Site.objects.values_list("code", flat=True)) or "none"
        raise VertebroError(f"there is no site {code!r} (known: {known}); create it with `vertebro site add CODE --name N`")
    if mrn_system and no_mrn_systems:
        raise VertebroError("give --mrn-system or --no-mrn-systems, not both")
    if name is None and not mrn_system and not no_mrn_systems:
        raise VertebroError("nothing to change: give --name, --mrn-system URI (repeatable) or --no-mrn-systems")
    with transaction.atomic():
        if name is not None:
            site_rename(site=site, name=name)
        systems = site_mrn_systems_set(site=site, systems=mrn_system or []) if (mrn_system or no_mrn_systems) else None
    said = [f"name {site.name!r}"] if name is not None else []
    if systems is not None:
        said.append(f"MRN systems {', '.join(systems) or '(none)'}")
    console.print(f"[green]Site {code}[/]: {'; '.join(said)}.", highlight=False)


@site_app.command("list")
def site_list() -> None:
    """List the sites with their MRN systems (the first is what FHIR exports write) and counts."""
    open_registry()
    from django.db.models import Count

    from ..registry.models import Site

    table = Table(title="Sites")
    for column in ("code", "name", "MRN systems", "patients", "staff"):
        table.add_column(column, overflow="fold")
    sites = Site.objects.annotate(n=Count("patients", distinct=True), staff=Count("memberships", distinct=True)).prefetch_related("mrn_systems")
    for s in sites:
        systems = "\n".join(m.system for m in s.mrn_systems.all()) or "—"
        table.add_row(s.code, s.name, systems, str(s.n), str(s.staff))
    console.print(table)
