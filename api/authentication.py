"""Token authentication, the per-client rate limit and the access log of every call."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.throttling import SimpleRateThrottle

from api import services
from api.models import ApiClient


class ClientTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`: the request acts as the client's service-account user. The token is
    the client's own, or an access token issued for its client credentials (ADR 54): both read the same."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("The token is not valid.") from None
        client = services.client_for_token(token, now=timezone.now())
        if client is None:
            request._bearer_token_refused = True
            raise AuthenticationFailed(
                "The token is not valid, has expired, or the client has been revoked "
                "(an access token that has expired: ask the token endpoint for a new one)."
            )
        return client.user, client

    def authenticate_header(self, request):
        if getattr(request, "_bearer_token_refused", False):
            return 'Bearer realm="earlyhelp", error="invalid_token"'  # RFC 6750 section 3.1
        return 'Bearer realm="earlyhelp"'


class PerClientRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT calls per client (e.g. "600/minute"), counted in the Redis cache; 429 beyond it."""

    scope = "api_client"

    def get_rate(self):
        return settings.API_RATE_LIMIT or None

    def get_cache_key(self, request, view):
        client = request.auth
        if not isinstance(client, ApiClient):
            return None  # an administrator reading the documentation in the browser
        return self.cache_format % {"scope": self.scope, "ident": client.pk}


class TokenEndpointThrottle(SimpleRateThrottle):
    """API_TOKEN_RATE_LIMIT requests to the token endpoint from one address, wrong secrets included, so
    guessing is slow; a client's own requests there also count towards its API_RATE_LIMIT."""

    scope = "api_token"

    def get_rate(self):
        return settings.API_TOKEN_RATE_LIMIT or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
