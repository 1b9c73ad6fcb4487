"""Security headers Django 5.2 does not set itself, the idle and absolute session limits, two-factor."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect, resolve_url
from django.utils.http import urlencode

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            if not self._within_absolute_limit(request, now):
                return self._sign_out(
                    request,
                    f"You were signed out because you signed in more than {_hours(settings.SESSION_MAX_SECONDS)} "
                    "ago. Sign in again to carry on.",
                )
            if not self._still_active(request, now):
                return self._sign_out(
                    request, "You were signed out because you were inactive. Sign in again to carry on."
                )
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.user.is_authenticated:
            # Pages about families must not sit in a shared computer's cache.
            response.setdefault("Cache-Control", "no-store")
        return response

    @staticmethod
    def _sign_out(request, message: str):
        logout(request)
        messages.info(request, message)
        return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")

    @staticmethod
    def _within_absolute_limit(request, now: float) -> bool:
        """SESSION_MAX_HOURS counts from sign-in, whatever the activity since (the cookie's age slides)."""
        signed_in_at = request.session.get(SIGNED_IN_AT)
        # A session without the time (signed in before this check existed) is treated as expired.
        return signed_in_at is not None and now - signed_in_at <= settings.SESSION_MAX_SECONDS

    def _still_active(self, request, now: float) -> bool:
        last = request.session.get("last_activity")
        if last is not None and now - last > settings.SESSION_IDLE_SECONDS:
            return False
        # Write at most once a minute so every request does not rewrite the session.
        if last is None or now - last > 60:
            request.session["last_activity"] = now
        return True


SIGNED_IN_AT = "signed_in_at"


def remember_sign_in_time(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver (connected in accounts.apps): the start of the absolute limit."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


TWO_FACTOR_EXEMPT_PREFIXES = (
    "/account/two-factor/",
    "/partners/two-factor/",
    "/partners/invitation/",
    "/sign-out/",
    "/static/",
    "/assets/",
    "/healthz",
)


class TwoFactorRequiredMiddleware:
    """Where the deployment makes TOTP compulsory, nothing else opens until the user has verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and two_factor_required_for(user)
            and not user.is_verified()
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
        ):
            page = "partners:two_factor" if user.is_partner else "accounts:two_factor"
            return redirect(f"{resolve_url(page)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def two_factor_required_for(user) -> bool:
    """Whether this account must pass TOTP before anything opens.

    Whenever two-factor is on at all, it covers every account that can administer: the
    Administrator role and any superuser or staff (Django admin) account, whatever its roles.
    """
    from accounts import roles

    if user.is_partner:  # always, whatever the deployment's setting: partners sign in from anywhere
        return True
    mode = settings.TWO_FACTOR_REQUIRED
    if mode == "none":
        return False
    if mode == "all" or user.is_superuser or user.is_staff:
        return True
    return user.has_role(roles.MANAGER, roles.DUTY_MANAGER, roles.ADMINISTRATOR)


# What a partner user may open outside the partner portal: signing out, and files.
PARTNER_OPEN_PREFIXES = ("/partners/", "/sign-out/", "/static/", "/assets/", "/healthz")


class PartnerBoundaryMiddleware:
    """Partner users (accounts.User.is_partner) see the partner portal and nothing else: every internal
    page answers 404 to them, whatever its own checks say; the home page sends them to their portal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.is_partner and not request.path.startswith(PARTNER_OPEN_PREFIXES):
            if request.path in ("/", "/sign-in/"):
                return redirect("partners:home")
            raise Http404
        return self.get_response(request)
