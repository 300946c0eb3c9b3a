"""Bearer-token authentication with a counter of failed attempts per client address.

A request with a wrong, expired or revoked token is 401. After ``VERTEBRO_API_FAILURE_LIMIT`` such
requests from one address within ``VERTEBRO_API_FAILURE_WINDOW_MINUTES``, every request from that
address is 429 until the window has passed, whatever token it carries: guessing tokens costs a guesser
the window, not a database query per guess.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..services.api_tokens import api_token_user
from ..web.middleware import client_ip_address

KEYWORD = "Bearer"


def _failure_key(request) -> str:  # noqa: ANN001
    return f"vertebro-api-token-failures-{client_ip_address(request) or 'unknown'}"


def failed_attempts(request) -> int:  # noqa: ANN001
    return cache.get(_failure_key(request), 0)


def _count_failure(request) -> None:  # noqa: ANN001
    key = _failure_key(request)
    if cache.add(key, 1, settings.VERTEBRO_API_FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, settings.VERTEBRO_API_FAILURE_WINDOW_SECONDS)


class TooManyFailedTokens(exceptions.Throttled):
    default_detail = "Too many requests with a wrong API token from this address; wait and try again with a valid token."


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer vtb_…`` → the token's user (see :func:`api_token_user`)."""

    def authenticate(self, request):  # noqa: ANN001, ANN201
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != KEYWORD:
            if failed_attempts(request) >= settings.VERTEBRO_API_FAILURE_LIMIT:
                raise TooManyFailedTokens(wait=settings.VERTEBRO_API_FAILURE_WINDOW_SECONDS)
            return None
        if failed_attempts(request) >= settings.VERTEBRO_API_FAILURE_LIMIT:
            raise TooManyFailedTokens(wait=settings.VERTEBRO_API_FAILURE_WINDOW_SECONDS)
        if len(header) != 2:
            _count_failure(request)
            raise exceptions.AuthenticationFailed("Give the token as `Authorization: Bearer <token>`.")
        user = api_token_user(secret=header[1])
        if user is None:
            _count_failure(request)
            raise exceptions.AuthenticationFailed("The API token is wrong, expired or revoked; create one with `vertebro user token create`.")
        return (user, None)

    def authenticate_header(self, request) -> str:  # noqa: ANN001
        return KEYWORD


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes :class:`BearerTokenAuthentication`."""

    target_class = "vertebro.registry.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "description": "A token from `vertebro user token create`."}
