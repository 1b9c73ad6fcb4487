"""A real OpenID Connect provider for the sign-in tests: oidc-provider-mock (authlib under Flask),
served by werkzeug on a free port in a thread of the test process. Not a mock of the client library:
mozilla-django-oidc talks HTTP to it, fetches its keys and checks the signed ID token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from oidc_provider_mock import User, run_server_in_thread

# The people the provider knows (its "directory"), by subject, with the claims it sends.
MFA_USER = "coach@example.invalid"
PASSWORD_ONLY_USER = "teamlead@example.invalid"
STRANGER = "stranger@example.invalid"
DIRECTORY = [
    User(sub=MFA_USER, claims={"email": MFA_USER, "amr": ["pwd", "mfa"]}),
    User(sub=PASSWORD_ONLY_USER, claims={"email": PASSWORD_ONLY_USER.upper(), "amr": ["pwd"]}),
    User(sub=STRANGER, claims={"email": STRANGER, "amr": ["pwd", "mfa"]}),
]


@contextmanager
def running_provider(settings) -> Iterator[str]:
    """Start the provider and point the product's single sign-on at it (pytest-django's `settings`);
    yields its base URL."""
    with run_server_in_thread(port=0, require_nonce=True, user_claims=DIRECTORY) as server:
        base = f"http://localhost:{server.server_port}"
        settings.SSO_ENABLED = True
        settings.SSO_PROVIDER_NAME = "Test council account"
        settings.OIDC_RP_CLIENT_ID = "earlyhelp"
        settings.OIDC_RP_CLIENT_SECRET = "not-a-real-secret"
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/oauth2/authorize"
        settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/oauth2/token"
        settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo"
        settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks"
        settings.OIDC_RP_SIGN_ALGO = "RS256"
        yield base
