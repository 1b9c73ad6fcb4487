"""Security headers Django 5.2 does not set itself, and the idle-session timeout."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
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
        if request.user.is_authenticated and not self._still_active(request):
            logout(request)
            messages.info(request, "You were signed out because you were inactive. Sign in again to carry on.")
            return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.user.is_authenticated:
            # Pages about families must not sit in a shared computer's cache.
            response.setdefault("Cache-Control", "no-store")
        return response

    def _still_active(self, request) -> bool:
        now = time.time()
        last = request.session.get("last_activity")
        if last is not None and now - last > settings.SESSION_IDLE_SECONDS:
            return False
        # Write at most once a minute so every request does not rewrite the session.
        if last is None or now - last > 60:
            request.session["last_activity"] = now
        return True


TWO_FACTOR_EXEMPT_PREFIXES = ("/account/two-factor/", "/sign-out/", "/static/", "/assets/", "/healthz")


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
            return redirect(f"{resolve_url('accounts:two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def two_factor_required_for(user) -> bool:
    from accounts import roles

    mode = settings.TWO_FACTOR_REQUIRED
    if mode == "all":
        return True
    if mode == "managers":
        return user.has_role(roles.MANAGER, roles.DUTY_MANAGER, roles.ADMINISTRATOR)
    return False
