"""Session idle timeout, no caching of pages, and the client address for login throttling."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers

from ..services.drafts import form_draft_keep

#: How stale the "last seen" stamp may get before a request refreshes it. Refreshing on every request
#: would write the session row on every page view; a minute of slack costs nothing against 30 minutes
#: (a shorter idle limit refreshes four times within it).
TOUCH_INTERVAL_SECONDS = 60
LAST_SEEN_KEY = "vertebro_last_seen"


class IdleSessionTimeoutMiddleware:
    """Log out a session that has been idle longer than ``VERTEBRO_SESSION_IDLE_SECONDS``.

    Django's own expiry counts from the last save of the session; saving it on every request would
    make every page view a database write. Instead the session records when it was last seen and is
    saved again (which also pushes its server-side expiry) at most once a minute.

    A form sent on an expired session is kept as a draft for its author (``services/drafts.py``) and
    shown again, filled in, when they open it after logging in. The expiry warning's status request
    (``web:session_status``) reads the time left without counting as activity, unless it asks to stay.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            # Logging in stamps the session (stamp_login): one without a stamp is ended, never trusted.
            last_seen = request.session.get(LAST_SEEN_KEY, 0)
            idle = settings.VERTEBRO_SESSION_IDLE_SECONDS
            status_check = request.path == reverse("web:session_status")
            if now - last_seen > idle and status_check:
                pass  # the warning's check only reads the time left: the next page or form ends the session (and keeps its draft)
            elif now - last_seen > idle:
                self._end(request)
            elif status_check and "stay" in request.GET or not status_check and now - last_seen >= min(TOUCH_INTERVAL_SECONDS, idle / 4):
                request.session[LAST_SEEN_KEY] = last_seen = now
            request.session_seconds_left = max(0, idle - (now - last_seen)) if request.user.is_authenticated else 0
        return self.get_response(request)

    @staticmethod
    def _end(request: HttpRequest) -> None:
        message = f"You were logged out after a period of inactivity ({minutes_in_words(settings.VERTEBRO_SESSION_IDLE_SECONDS)}). Please log in again."
        if request.method == "POST":
            if _keeps_drafts(request.path_info):
                form_draft_keep(user=request.user, path=request.path, data=request.POST)
                message += " What you had entered on the form is kept for you: it is filled in again when you open the form after logging in."
            else:
                message += " What you had sent was not kept: send it again after logging in."
        logout(request)
        messages.warning(request, message)


#: Pages whose posts are not data entry: logging in and out, the patient search (whose words are not kept).
_NOT_DRAFTED = {"web:login", "web:logout", "web:patients", "web:session_status"}


def _keeps_drafts(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == "web" and match.view_name not in _NOT_DRAFTED


def minutes_in_words(seconds: float) -> str:
    """``30 minutes``, ``1 minute``; under a minute, in seconds."""
    if seconds < 60:
        count = max(1, round(seconds))
        return f"{count} second{'s' if count != 1 else ''}"
    count = max(1, round(seconds / 60))
    return f"{count} minute{'s' if count != 1 else ''}"


def session_context(request: HttpRequest) -> dict:
    """Context processor: the seconds the session has left (for the expiry warning)."""
    return {"session_seconds_left": getattr(request, "session_seconds_left", None)}


def stamp_login(sender, request: HttpRequest | None, user, **kwargs) -> None:  # noqa: ANN001
    """``user_logged_in`` receiver: the session starts its idle clock at login."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


#: The app's pages load nothing from elsewhere and run only the app's own script files (the session
#: expiry warning), never a script written into a page: a page that somehow carried injected markup
#: could neither run it nor send what it shows anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
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
