"""The patient's own pages (issue 9): ``/r/<token>`` asks two questions, one per screen, with no login.

The token in the address is the only credential: no session, no cookie (so no CSRF cookie either:
the forms are exempt, a forged post would need the token). Nothing of the registry is reachable from
these pages — no menu, no links — and they never show more of the patient than the first name.
Every unusable link (unknown, used, expired, opted out, withdrawn) gets the same one sentence, and an
address that tries too many of them is refused for the rest of the hour (``VERTEBRO_RESPONSE_RATE_PER_HOUR``).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ....domain.errors import DomainError
from ...services.invitations import LinkNotUsable, invitation_answer, invitation_for_token, invitation_opt_out
from ..middleware import client_ip_address

NOT_USABLE = "This link no longer works — thank you, there is nothing more to do here."
TOO_MANY = "Too many tries from this connection. Please try again in an hour."
SCORES = tuple(range(11))


def _bucket(request: HttpRequest) -> str:
    return f"respond-failures:{client_ip_address(request) or 'unknown'}:{int(time.time() // 3600)}"


def _limited(request: HttpRequest) -> bool:
    return (cache.get(_bucket(request)) or 0) >= settings.VERTEBRO_RESPONSE_RATE_PER_HOUR


def _count_failure(request: HttpRequest) -> None:
    key = _bucket(request)
    if not cache.add(key, 1, timeout=3600):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, timeout=3600)


def _sentence(request: HttpRequest, text: str, status: int) -> HttpResponse:
    return render(request, "web/respond/sentence.html", {"sentence": text}, status=status)


def _not_usable(request: HttpRequest) -> HttpResponse:
    _count_failure(request)
    return _sentence(request, NOT_USABLE, 404)


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """Screen 1 (GET): the pain score. Screen 2 (POST with a score): recurrent pain. POST with both: saved."""
    if _limited(request):
        return _sentence(request, TOO_MANY, 429)
    try:
        invitation = invitation_for_token(token=token, today=timezone.localdate())
    except LinkNotUsable:
        return _not_usable(request)
    context = {"token": token, "first_name": invitation.patient.first_name, "scores": SCORES}
    if request.method == "GET":
        return render(request, "web/respond/score.html", context)
    raw_score = request.POST.get("score", "")
    if raw_score not in {str(s) for s in SCORES}:
        context["error"] = "Please choose one number from 0 (no pain) to 10 (worst pain imaginable)."
        return render(request, "web/respond/score.html", context, status=400)
    context["score"] = raw_score
    recurrent = request.POST.get("recurrent_pain")
    if recurrent is None:
        return render(request, "web/respond/recurrent.html", context)
    if recurrent not in ("yes", "no"):
        context["error"] = "Please answer yes or no."
        return render(request, "web/respond/recurrent.html", context, status=400)
    try:
        invitation_answer(token=token, score=int(raw_score), recurrent_pain=recurrent == "yes")
    except LinkNotUsable:
        return _not_usable(request)
    except (DomainError, ValidationError):
        context["error"] = "Please choose one number from 0 (no pain) to 10 (worst pain imaginable)."
        return render(request, "web/respond/score.html", context, status=400)
    return redirect("web:respond_thanks")


@login_not_required
@require_http_methods(["GET"])
def thanks(request: HttpRequest) -> HttpResponse:
    return _sentence(request, "Thank you. Your answer has reached your spine team. You can close this page now.", 200)


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def stop(request: HttpRequest, token: str) -> HttpResponse:
    """The opt-out link: GET asks to confirm (a link preview must not opt anyone out), POST does it."""
    if _limited(request):
        return _sentence(request, TOO_MANY, 429)
    try:
        invitation = invitation_for_token(token=token, today=timezone.localdate())
    except LinkNotUsable:
        return _not_usable(request)
    if request.method == "GET":
        return render(request, "web/respond/stop.html", {"token": token, "first_name": invitation.patient.first_name})
    invitation_opt_out(token=token)
    return _sentence(request, "Done: you will get no more of these messages. Thank you for your help so far.", 200)
