"""Every API call is logged: user, time, method, path and status (:class:`ApiCallLog`). The query string
is never logged (it may carry a search term); paths hold database keys only, never identifiers."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ..models import ApiCallLog

API_PREFIX = "/api/"


class ApiCallLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            user = getattr(request, "user", None)
            ApiCallLog.objects.create(
                user=user if user is not None and user.is_authenticated else None,
                method=request.method[:8],
                path=request.path[:300],
                status=response.status_code,
            )
        return response
