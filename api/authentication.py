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
    """`Authorization: Bearer <token>`: the request acts as the client's service-account user."""

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
            raise AuthenticationFailed("The token is not valid, or the client has been revoked.")
        return client.user, client

    def authenticate_header(self, request):
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
