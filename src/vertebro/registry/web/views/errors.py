"""Error pages in the app's own layout (the 403 and 404 that site boundaries produce)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception and str(exception) else "Your role does not allow this."
    return render(request, "web/error.html", {"title": "Not allowed", "message": reason}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "There is no such page or record — or it belongs to a site you do not have access to."
    return render(request, "web/error.html", {"title": "Not found", "message": message}, status=404)
