"""Single sign-on with the council's identity provider over OpenID Connect (ADR 47).

mozilla-django-oidc runs the authorisation-code flow (with PKCE) and checks the ID token; this
module decides who the person is and what their sign-in proves:

- the provider's e-mail claim is matched (case-insensitively) to one existing *active* account;
  nobody is ever created, so a role that sees families is only ever given on the users pages;
- an unknown e-mail (or two accounts sharing one) is refused with a page that says so;
- when the provider asserts that it checked a second factor (`amr` holds one of SSO_MFA_AMR_VALUES),
  the session is verified with the account's `SingleSignOnDevice`, as a TOTP code would verify it.
"""

from __future__ import annotations

import jwt
import requests
from django.conf import settings
from django.contrib.auth.views import LoginView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from django_otp import login as otp_login
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.backends import AuthenticationOnlyBackend, NoModelPermissions
from accounts.forms import SignInForm
from accounts.models import SingleSignOnDevice, User

REFUSED_SESSION_KEY = "sso_refused"


def mfa_asserted(*claim_sets) -> bool:
    """Whether any `amr` claim among these names a method the deployment counts as a second factor."""
    wanted = {value.lower() for value in settings.SSO_MFA_AMR_VALUES}
    for claims in claim_sets:
        amr = (claims or {}).get("amr")
        if isinstance(amr, str):
            amr = [amr]
        if isinstance(amr, list) and wanted & {str(value).lower() for value in amr}:
            return True
    return False


def device_for(user: User) -> SingleSignOnDevice:
    device, _ = SingleSignOnDevice.objects.get_or_create(
        user=user, defaults={"name": "Council sign-in with MFA", "confirmed": True}
    )
    return device


class SingleSignOnBackend(NoModelPermissions, OIDCAuthenticationBackend):
    """Signs in through the council's provider; like every backend here it answers no permission
    check (`NoModelPermissions`: rules decide, and a ModelBackend's answer cost two queries a page)."""

    def authenticate(self, request, **kwargs):
        if not settings.SSO_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def retrieve_matching_jwk(self, token):
        """The provider's signing key. A token whose header names no key (`kid` is optional, RFC 7515)
        is accepted only when the provider publishes exactly one key for its algorithm."""
        header = jwt.get_unverified_header(token)
        if "kid" in header:
            return super().retrieve_matching_jwk(token)
        response = requests.get(
            self.OIDC_OP_JWKS_ENDPOINT,
            verify=self.get_settings("OIDC_VERIFY_SSL", True),
            timeout=self.get_settings("OIDC_TIMEOUT", None),
            proxies=self.get_settings("OIDC_PROXY", None),
        )
        response.raise_for_status()
        keys = [
            key
            for key in response.json().get("keys", [])
            if key.get("alg", header.get("alg")) == header.get("alg") and key.get("use", "sig") == "sig"
        ]
        if len(keys) != 1:
            raise SuspiciousOperation("The ID token names no key and the provider has more than one.")
        return jwt.PyJWK(keys[0])

    def verify_claims(self, claims):
        self._user_info = claims
        if not super().verify_claims(claims):
            self.request.session[REFUSED_SESSION_KEY] = ""
            return False
        return True

    def filter_users_by_claims(self, claims):
        """The one active account with this e-mail address; none (refused) for none or several."""
        email = str(claims.get("email") or "").strip()
        users = list(User.objects.filter(email__iexact=email, is_active=True)[:2]) if email else []
        if len(users) != 1:
            self.request.session[REFUSED_SESSION_KEY] = email[:254]
            return []
        return users

    def get_or_create_user(self, access_token, id_token, payload):
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is not None:
            user.sso_mfa = mfa_asserted(payload, getattr(self, "_user_info", None))
        return user

    def get_user(self, user_id):
        # Loaded as every other session's user: active accounts only, with their team and roles.
        return AuthenticationOnlyBackend().get_user(user_id)


class SignInStart(OIDCAuthenticationRequestView):
    """Off (404) unless single sign-on is configured."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.SSO_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class SignInCallback(OIDCAuthenticationCallbackView):
    def dispatch(self, request, *args, **kwargs):
        if not settings.SSO_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def login_success(self):
        response = super().login_success()
        if getattr(self.user, "sso_mfa", False):
            otp_login(self.request, device_for(self.user))
        return response


def sign_in_refused(request):
    """Where a single sign-on that matched no active account ends."""
    refused = request.session.pop(REFUSED_SESSION_KEY, None)
    return render(
        request,
        "registration/sso_refused.html",
        {"email": refused or "", "provider": settings.SSO_PROVIDER_NAME},
    )


class SignInView(LoginView):
    """The sign-in page: the password form (unless PASSWORD_SIGN_IN is off) and, when single sign-on
    is configured, "Sign in with <provider>" (ADR 47)."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {
            "password_sign_in": settings.PASSWORD_SIGN_IN,
            "sso_enabled": settings.SSO_ENABLED,
            "sso_provider": settings.SSO_PROVIDER_NAME,
        }

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)
