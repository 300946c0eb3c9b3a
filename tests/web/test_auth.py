"""Log in and out: throttling per account and per address, idle expiry, a new session id at login."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.test import Client
from django.urls import reverse

from vertebro.registry.web.middleware import LAST_SEEN_KEY

LOGIN = "/login/"


def _post_login(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_login_with_the_right_password_opens_the_dashboard(world):
    client = Client()
    response = _post_login(client, "coordinator_a", world.password)
    assert response.status_code == 302 and response["Location"] == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200


def test_wrong_password_says_so_in_words(world):
    response = _post_login(Client(), "coordinator_a", "not-the-password")
    assert response.status_code == 200
    assert "The username or the password is wrong" in response.content.decode()


def test_session_id_changes_at_login(world):
    client = Client()
    client.get(LOGIN)
    session = client.session
    session["before_login"] = True
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    _post_login(client, "coordinator_a", world.password)
    after = client.cookies["sessionid"].value
    assert after and after != before


def test_failed_logins_lock_the_account_whatever_the_address(world, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(limit):
        _post_login(Client(), "coordinator_a", "wrong", address=f"10.0.1.{attempt}")
    locked = _post_login(Client(), "coordinator_a", world.password, address="10.0.2.1")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed log-in attempts" in page and "logging in is paused for 15 minutes" in page
    assert "vertebro manage axes_reset_username USERNAME" in page
    # Another account from yet another address still logs in.
    assert _post_login(Client(), "investigator_a", world.password, address="10.0.3.1").status_code == 302


def test_failed_logins_lock_the_address_whatever_the_account(world, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _post_login(Client(), f"nobody{attempt}", "wrong", address="10.9.9.9")
    assert _post_login(Client(), "coordinator_a", world.password, address="10.9.9.9").status_code == 429
    assert _post_login(Client(), "coordinator_a", world.password, address="10.9.9.10").status_code == 302


def test_a_success_before_the_limit_resets_the_count(world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _post_login(Client(), "coordinator_a", "wrong")
    assert _post_login(Client(), "coordinator_a", world.password).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _post_login(Client(), "coordinator_a", "wrong")
    assert _post_login(Client(), "coordinator_a", world.password).status_code == 302


def test_idle_session_is_logged_out(world, settings):
    client = world.client("coordinator_a")
    assert client.get(reverse("web:patients")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - settings.VERTEBRO_SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get(reverse("web:patients"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    follow = client.get(response["Location"])
    assert "logged out after a period of inactivity" in follow.content.decode()


def test_activity_within_the_idle_limit_keeps_the_session(world, settings):
    client = world.client("coordinator_a")
    client.get(reverse("web:patients"))
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - settings.VERTEBRO_SESSION_IDLE_SECONDS + 60
    session.save()
    assert client.get(reverse("web:patients")).status_code == 200
    assert client.session[LAST_SEEN_KEY] >= int(time.time()) - 2  # the request refreshed it


def test_idle_limit_comes_from_the_environment(monkeypatch):
    import importlib

    import vertebro.registry.settings as settings_module

    monkeypatch.setenv("VERTEBRO_SESSION_IDLE_MINUTES", "7")
    try:
        reloaded = importlib.reload(settings_module)
        assert reloaded.VERTEBRO_SESSION_IDLE_SECONDS == 7 * 60 and reloaded.SESSION_COOKIE_AGE == 7 * 60 + 12 * 3600
    finally:
        monkeypatch.delenv("VERTEBRO_SESSION_IDLE_MINUTES")
        importlib.reload(settings_module)


def test_logout_needs_a_post_and_ends_the_session(world):
    client = world.client("coordinator_a")
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get(reverse("web:patients")).status_code == 302


def test_health_check_needs_no_login_and_touches_no_database(client):
    # No `db` fixture: pytest-django makes any query here an error.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.parametrize("path", ["/", "/patients/", "/worklist/", "/patients/new/"])
def test_pages_require_login(db, path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_login_page_is_not_cached(db):
    assert "no-store" in Client().get(LOGIN)["Cache-Control"]


def test_inactive_account_cannot_log_in(world):
    user = world.users["coordinator_a"]
    user.is_active = False
    user.save()
    assert _post_login(Client(), "coordinator_a", world.password).status_code == 200


def test_address_locking_can_be_turned_off_for_sites_behind_one_shared_address():
    read = "from vertebro.registry import settings; print(settings.AXES_LOCKOUT_PARAMETERS)"

    def parameters(flag: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "VERTEBRO_LOGIN_LOCK_ADDRESS"}
        if flag is not None:
            env["VERTEBRO_LOGIN_LOCK_ADDRESS"] = flag
        return subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, env=env, check=True).stdout.strip()

    assert parameters(None) == "['username', 'ip_address']"
    assert parameters("0") == "['username']"


def test_a_form_sent_after_the_idle_limit_is_not_saved_and_says_so(world, settings):
    client = world.client("coordinator_a")
    assert client.get(reverse("web:patients")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - settings.VERTEBRO_SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.post(reverse("web:patients"), {"q": "anything"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    page = client.get(response["Location"]).content.decode()
    assert "logged out after a period of inactivity" in page
    assert "What you had sent was not kept: send it again after logging in." in page  # a search is not data entry


def test_a_form_with_an_expired_security_token_explains_what_to_do(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["coordinator_a"])
    response = client.post(reverse("web:patients"), {"q": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "The form has expired" in page and "Nothing was saved. Go back, reload the page" in page


def test_coming_back_after_the_idle_limit_is_explained_even_when_nothing_touched_the_session(world, settings):
    """As in real use: the session was last saved when last seen, with the configured lifetime, and
    the person comes back later than the idle limit."""
    client = world.client("coordinator_a")
    assert client.get(reverse("web:patients")).status_code == 200
    idle = settings.VERTEBRO_SESSION_IDLE_SECONDS + 5
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - idle
    session.set_expiry(settings.SESSION_COOKIE_AGE - idle)  # saved `idle` seconds ago with the usual lifetime
    session.save()
    response = client.post(reverse("web:patients"), {"q": "anything"})
    page = client.get(response["Location"]).content.decode()
    assert "logged out after a period of inactivity" in page and "was not kept" in page


def test_a_form_from_an_untrusted_origin_points_the_administrator_at_the_setting(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["coordinator_a"])
    client.get(reverse("web:patients"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("web:patients"), {"q": "x", "csrfmiddlewaretoken": token}, HTTP_ORIGIN="https://proxy.example.org")
    assert response.status_code == 403
    page = response.content.decode()
    assert "The form was refused" in page and "VERTEBRO_CSRF_TRUSTED_ORIGINS" in page


def test_the_idle_clock_starts_at_login_even_if_no_page_follows(world, settings, monkeypatch):
    import vertebro.registry.web.middleware as middleware

    client = Client()
    assert _post_login(client, "coordinator_a", world.password).status_code == 302  # the redirect is not followed
    later = time.time() + settings.VERTEBRO_SESSION_IDLE_SECONDS + 3 * 3600
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    response = client.get(reverse("web:patients"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_a_session_without_the_idle_stamp_is_ended_not_trusted(world):
    client = world.client("coordinator_a")
    session = client.session
    del session[LAST_SEEN_KEY]
    session.save()
    response = client.get(reverse("web:patients"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_a_missing_referer_is_not_blamed_on_a_proxy(world, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["coordinator_a"])
    client.get(reverse("web:patients"), HTTP_X_FORWARDED_PROTO="https")
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("web:patients"), {"q": "x", "csrfmiddlewaretoken": token}, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 403
    assert "The form has expired" in response.content.decode()  # "Referer checking failed - no Referer."
