"""The session expiry warning's one request: how long the session has left (``?stay=1`` also counts as
activity, which is what "Stay logged in" asks). Reading it does not keep the session alive."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@login_not_required  # an ended session gets its answer (0 seconds), not the login page
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"seconds_left": getattr(request, "session_seconds_left", 0) if request.user.is_authenticated else 0})
