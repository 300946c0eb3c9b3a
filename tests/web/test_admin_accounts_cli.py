"""Django admin for staff, demo and real accounts, `vertebro user/site` commands, deploy settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory
from typer.testing import CliRunner

from vertebro.cli.app import app
from vertebro.domain.errors import DomainError
from vertebro.registry.models import StaffMembership
from vertebro.registry.services.accounts import demo_accounts_create, user_create


# --- admin ---------------------------------------------------------------------------------------


def test_staff_can_read_records_and_their_history_in_the_admin(world):
    client = world.client("superuser")
    assert client.get("/admin/registry/patient/").status_code == 200
    assert client.get(f"/admin/registry/patient/{world.patient_a.pk}/history/").status_code == 200
    page = client.get(f"/admin/registry/patient/{world.patient_a.pk}/change/").content.decode()
    assert world.phi_a[1] in page and 'name="_save"' not in page  # shown, read-only
    assert client.get("/admin/registry/patient/add/").status_code == 403
    assert client.post(f"/admin/registry/patient/{world.patient_a.pk}/delete/", {"post": "yes"}).status_code == 405  # no write, whatever the rights


def test_non_staff_are_sent_to_the_admin_login(world):
    response = world.client("coordinator_a").get("/admin/registry/patient/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_manage_roles_in_the_admin(world):
    client = world.client("superuser")
    response = client.post("/admin/registry/staffmembership/add/", {
        "user": world.users["coordinator_b"].pk, "site": world.site_a.pk, "role": "analyst"})
    assert response.status_code == 302
    assert StaffMembership.objects.filter(user=world.users["coordinator_b"], site=world.site_a, role="analyst").exists()


# --- accounts ------------------------------------------------------------------------------------


def test_demo_accounts_one_per_role_at_two_sites(world, monkeypatch):
    monkeypatch.delenv("VERTEBRO_DEMO_PASSWORD", raising=False)
    accounts, state = demo_accounts_create(sites=[world.site_a, world.site_b])
    assert state == "generated" and len(accounts[0].password) >= 12
    by_name = {a.username: a for a in accounts}
    assert set(by_name) == {"admin", "coordinator_a", "coordinator_b", "investigator_a", "investigator_b", "analyst_a", "analyst_b"}
    assert by_name["admin"].site_codes == ("SITE-A", "SITE-B") and by_name["analyst_b"].site_codes == ("SITE-B",)
    request = RequestFactory().post("/login/")
    assert authenticate(request, username="investigator_b", password=accounts[0].password) is not None


def test_demo_accounts_are_idempotent_and_take_the_password_from_the_environment(world, monkeypatch):
    monkeypatch.setenv("VERTEBRO_DEMO_PASSWORD", "demo-from-env-123")
    first, state = demo_accounts_create(sites=[world.site_a, world.site_b])
    second, _ = demo_accounts_create(sites=[world.site_a, world.site_b])
    assert state == "given" and first == second and first[0].password == "demo-from-env-123"
    assert StaffMembership.objects.filter(user__username="coordinator_a").count() == 1  # the world's own user, reused
    User = get_user_model()
    assert User.objects.filter(username__in=[a.username for a in first]).count() == 7
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_demo_accounts_need_two_sites(world):
    with pytest.raises(DomainError, match="two sites"):
        demo_accounts_create(sites=[world.site_a])


def test_weak_password_is_refused_with_the_rule(db):
    with pytest.raises(DomainError) as error:
        user_create(username="weakling", password="password")
    assert "too common" in error.value.rule or "too short" in error.value.rule
    assert not get_user_model().objects.filter(username="weakling").exists()


# --- commands ------------------------------------------------------------------------------------


@pytest.fixture
def cli(db, fast_passwords):
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin, catch_exceptions=True)

    return run


def test_site_and_user_commands(cli):
    assert cli("site", "add", "NIR-1", "Neurointerventional Radiology 1").exit_code == 0
    result = cli("user", "add", "jdoe", "--site", "NIR-1", "--role", "coordinator", "--password-stdin", stdin="a-long-secret-42\n")
    assert result.exit_code == 0, result.output
    user = get_user_model().objects.get(username="jdoe")
    assert user.check_password("a-long-secret-42") and not user.is_staff
    assert StaffMembership.objects.get(user=user).role == "coordinator"
    assert cli("user", "grant", "jdoe", "--site", "NIR-1", "--role", "investigator").exit_code == 0
    assert StaffMembership.objects.get(user=user).role == "investigator"
    listing = cli("user", "list").output
    assert "jdoe" in listing and "investigator at NIR-1" in listing
    assert cli("user", "revoke", "jdoe", "--site", "NIR-1").exit_code == 0
    assert not StaffMembership.objects.filter(user=user).exists()


def test_user_add_refuses_unknown_site_and_weak_password(cli):
    result = cli("user", "add", "x", "--site", "NOPE", "--password-stdin", stdin="a-long-secret-42\n")
    assert result.exit_code != 0 and "there is no site 'NOPE'" in str(result.exception)
    cli("site", "add", "S1", "Site one")
    weak = cli("user", "add", "y", "--site", "S1", "--password-stdin", stdin="123\n")
    assert weak.exit_code != 0 and "too short" in str(weak.exception)
    assert not get_user_model().objects.filter(username__in=["x", "y"]).exists()


def _check_deploy(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VERTEBRO_")}
    return subprocess.run(
        [sys.executable, "-c", "from vertebro.cli import main; main()", "manage", "check", "--deploy"],
        capture_output=True, text=True, env=clean | env, timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _check_deploy({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VERTEBRO_HOME": str(tmp_path),
        "VERTEBRO_SECRET_KEY": "q8Jx-2vN_7rTb0LmYcWz3uHk9pEa5sDf1gRi6oQy4tVn8wXj-Lp0Zs", "VERTEBRO_ALLOWED_HOSTS": "registry.example.org",
        "VERTEBRO_HTTPS": "1",
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_check_deploy_flags_a_development_setup(tmp_path):
    result = _check_deploy({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VERTEBRO_HOME": str(tmp_path)})
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016"):
        assert warning in output


def test_user_commands_work_from_a_fresh_process(tmp_path):
    """As run by people: a new process, Django not yet set up when the command starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTEBRO_")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VERTEBRO_HOME": str(tmp_path), "COLUMNS": "200"}

    def vertebro(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from vertebro.cli import main; main()", *args],
                              input=stdin, capture_output=True, text=True, env=env, timeout=120)

    assert vertebro("init").returncode == 0
    assert vertebro("site", "add", "S1", "Site one").returncode == 0
    added = vertebro("user", "add", "ann", "--site", "S1", "--role", "analyst", "--password-stdin", stdin="a-long-secret-42\n")
    assert added.returncode == 0, added.stderr
    listing = vertebro("user", "list")
    assert "ann" in listing.stdout and "analyst at S1" in listing.stdout
    assert "S1" in vertebro("site", "list").stdout


def test_demo_again_without_a_password_keeps_the_passwords_people_set(world, monkeypatch):
    monkeypatch.delenv("VERTEBRO_DEMO_PASSWORD", raising=False)
    accounts, _ = demo_accounts_create(sites=[world.site_a, world.site_b])
    changed = get_user_model().objects.get(username="investigator_b")
    changed.set_password("my-own-long-passphrase-2026")
    changed.save()
    again, state = demo_accounts_create(sites=[world.site_a, world.site_b])
    assert state == "kept" and again[0].password == ""
    request = RequestFactory().post("/login/")
    assert authenticate(request, username="investigator_b", password="my-own-long-passphrase-2026") is not None
    assert authenticate(request, username="analyst_a", password=accounts[0].password) is not None
