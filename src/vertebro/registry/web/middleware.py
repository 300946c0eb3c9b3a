"""Session idle timeout, no caching of pages, and the client address for login throttling."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

#: How stale the "last seen" stamp may get before a request refreshes it. Refreshing on every request
#: would write the session row on every page view; a minute of slack costs nothing against 30 minutes.
TOUCH_INTERVAL_SECONDS = 60
LAST_SEEN_KEY = "vertebro_last_seen"


class IdleSessionTimeoutMiddleware:
    """Log out a session that has been idle longer than ``VERTEBRO_SESSION_IDLE_SECONDS``.

    Django's own expiry counts from the last save of the session; saving it on every request would
    make every page view a database write. Instead the session records when it was last seen and is
    saved again (which also pushes its server-side expiry) at most once a minute.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            # Logging in stamps the session (stamp_login): one without a stamp is ended, never trusted.
            last_seen = request.session.get(LAST_SEEN_KEY, 0)
            if now - last_seen > settings.VERTEBRO_SESSION_IDLE_SECONDS:
                logout(request)
                minutes = max(1, round(settings.VERTEBRO_SESSION_IDLE_SECONDS / 60))
                message = f"You were logged out after a period of inactivity ({minutes} minutes). Please log in again."
                if request.method == "POST":
                    # Nothing of the form is kept: it may hold patient data, and the session that held it has ended.
                    message += " What you had entered on the form was not saved: enter it again after logging in."
                messages.warning(request, message)
            elif now - last_seen >= TOUCH_INTERVAL_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def stamp_login(sender, request: HttpRequest | None, user, **kwargs) -> None:  # noqa: ANN001
    """``user_logged_in`` receiver: the session starts its idle clock at login."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


#: The app's pages load nothing from elsewhere and run no script; a page that somehow carried injected
#: markup still could not send what it shows anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The Django admin runs its own script files (no inline script, no inline event handler) and
#: loads nothing from elsewhere; only style attributes, which a few admin templates use, are allowed
#: inline (they cannot run code).
ADMIN_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class NoStoreMiddleware:
    """Every page the app renders may carry protected health information: no browser or proxy may
    keep a copy (``Cache-Control: no-store``), and every page gets a strict Content-Security-Policy
    (the admin's allows its own script files). Static files never reach this middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
        if request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", ADMIN_CONTENT_SECURITY_POLICY)
        else:
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def client_ip_address(request: HttpRequest) -> str | None:
    """The address login throttling counts against: the socket peer, or — only when
    ``VERTEBRO_BEHIND_PROXY`` says a reverse proxy stands in front — the address that proxy appended
    last to ``X-Forwarded-For`` (earlier entries come from the client and can be forged)."""
    if settings.VERTEBRO_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")
