"""Error pages in the app's own layout (the 403 and 404 that site boundaries produce, and a form whose
security token expired)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception and str(exception) else "Your role does not allow this."
    return render(request, "web/error.html", {"title": "Not allowed", "message": reason}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "There is no such page or record — or it belongs to a site you do not have access to."
    return render(request, "web/error.html", {"title": "Not found", "message": message}, status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent with a missing or stale security token (a page left open
    across a log-in elsewhere, a browser that blocks cookies). Django's reason is for developers."""
    if "does not match any trusted origins" in reason:
        # Not the user's doing: a proxy in front of the app passes an address the app was not told to trust.
        message = (
            "This form was refused because it came through an address the server is not set up to trust. "
            "Nothing was saved. Tell the administrator: a proxy in front of vertebro needs its public address in "
            "VERTEBRO_CSRF_TRUSTED_ORIGINS."
        )
        return render(request, "web/error.html", {"title": "The form was refused", "message": message}, status=403)
    message = (
        "This form could not be accepted because its security token has expired or is missing — usually the "
        "page was open while you logged in or out in another tab. Nothing was saved. Go back, reload the page "
        "and enter the data again; if it keeps happening, allow cookies for this site."
    )
    return render(request, "web/error.html", {"title": "The form has expired", "message": message}, status=403)
