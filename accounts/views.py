from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.forms import EnrolmentCodeForm, TokenForm, TwoFactorResetForm, UserForm
from accounts.models import RoleChange, TwoFactorReset, User
from accounts.roles import ADMINISTRATOR
from accounts.services import AccountChanged, AccountRefused
from kit.permissions import require_role

logger = logging.getLogger(__name__)

# The session key naming the unconfirmed authenticator this session may set up (after a code).
ENROLMENT_SESSION_KEY = "two_factor_enrolment_device"
MAIL_ERRORS = (smtplib.SMTPException, OSError)


@login_required
def user_list(request):
    require_role(request.user, ADMINISTRATOR)
    users = User.objects.select_related("team").prefetch_related("groups").order_by("last_name", "first_name")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int | None = None):
    require_role(request.user, ADMINISTRATOR)
    instance = get_object_or_404(User, pk=pk) if pk else None
    form = UserForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            user, issued = services.user_save(form=form, by=request.user, now=now)
        except AccountRefused as exc:
            _refused(form, exc, instance)
        else:
            messages.success(request, f"{user} has been saved.")
            if issued is None:
                return redirect("accounts:user_list")
            # A new account: its two-factor enrolment code, emailed to the owner and shown once.
            emailed = _send(
                lambda: services.send_enrolment_code(
                    user=user, issued=issued, intro=f"An account has been created for you by {request.user}."
                )
            )
            _show_once(request, user, issued, emailed)
            return redirect("accounts:user_edit", user.pk)
    context = {"form": form, "editing": instance}
    if instance is not None:
        context |= _history(instance) | {"issued": _issued_for(request, instance)}
    return render(request, "accounts/user_form.html", context)


ISSUED_SESSION_KEY = "enrolment_code_to_show"


def _show_once(request, account: User, issued: services.IssuedCode, emailed: bool | None) -> None:
    """Keep the plain code in the (server-side) session until the account's page shows it, once."""
    request.session[ISSUED_SESSION_KEY] = {
        "account": account.pk,
        "code": issued.code,
        "expires_at": issued.expires_at.isoformat(),
        "emailed": emailed,
    }


def _issued_for(request, account: User) -> dict | None:
    shown = request.session.get(ISSUED_SESSION_KEY)
    if not isinstance(shown, dict) or shown.get("account") != account.pk:
        return None
    del request.session[ISSUED_SESSION_KEY]
    code = services.IssuedCode(code=shown["code"], expires_at=datetime.fromisoformat(shown["expires_at"]))
    return {"code": code.code, "link": code.link, "expires_at": code.expires_at, "emailed": shown["emailed"]}


def _refused(form, exc: AccountRefused, instance: User | None) -> None:
    form.add_error(exc.field, str(exc))
    if isinstance(exc, AccountChanged) and instance is not None:
        # The next save is against the latest version; what was typed stays on the page.
        instance.refresh_from_db()
        data = form.data.copy()
        data["version"] = str(instance.version)
        form.data = data


def _history(account: User) -> dict:
    return {
        "role_changes": RoleChange.objects.filter(user=account).select_related("changed_by")[:100],
        "two_factor_resets": TwoFactorReset.objects.filter(user=account).select_related("reset_by")[:20],
        "has_authenticator": TOTPDevice.objects.filter(user=account, confirmed=True).exists(),
    }


def _send(send) -> bool | None:
    """Send an email after the change is saved: True sent, False no address, None the send failed."""
    try:
        return send()
    except MAIL_ERRORS:
        logger.exception("account email could not be sent")
        return None


@login_required
@require_http_methods(["GET", "POST"])
def user_two_factor(request, pk: int):
    """Reset an account's two-factor sign-in: reason required, recorded, owner emailed, new enrolment code."""
    require_role(request.user, ADMINISTRATOR)
    account = get_object_or_404(User, pk=pk)
    form = TwoFactorResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reset, issued = services.two_factor_reset(
                user=account, by=request.user, reason=form.cleaned_data["reason"], now=timezone.now()
            )
        except AccountRefused as exc:
            form.add_error(exc.field, str(exc))
        else:
            emailed = _send(lambda: services.notify_owner_of_reset(reset=reset, issued=issued))
            messages.success(
                request,
                f"Two-factor sign-in reset for {account}: {reset.devices_removed} authenticator(s) removed, "
                "your reason recorded.",
            )
            _show_once(request, account, issued, emailed)
            return redirect("accounts:user_edit", account.pk)
    return render(
        request,
        "accounts/user_two_factor.html",
        {"form": form, "account": account, "own_account": account.pk == request.user.pk} | _history(account),
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Verify the TOTP code; or, with a valid enrolment code, set up an authenticator.

    Without a code, an account with no authenticator sees how to get one and never a secret:
    a stolen password alone must not be enough to attach the thief's phone to the account.
    """
    user = request.user
    now = timezone.now()
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        request.session.pop(ENROLMENT_SESSION_KEY, None)
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                messages.success(request, "Code accepted.")
                return redirect(next_url)
            form.add_error("token", "That code is not right or has expired: enter the current code from your app")
        return render(request, "accounts/two_factor.html", {"form": form, "state": "verify", "next": next_url})

    pending = _pending_enrolment(request)
    if pending is None:
        code_form = EnrolmentCodeForm(
            request.POST if "code" in request.POST else None,
            initial={"code": request.GET.get("code", "")[:40]},
        )
        if code_form.is_bound and code_form.is_valid():
            if services.enrolment_code_redeem(user=user, code=code_form.cleaned_data["code"], now=now):
                pending = services.enrolment_start(user=user)
                request.session[ENROLMENT_SESSION_KEY] = pending.pk
                return _setup_page(request, TokenForm(), pending, next_url)
            code_form.add_error(
                "code",
                "That enrolment code is not right, has been used or has expired: ask an administrator for a new one",
            )
        return render(
            request,
            "accounts/two_factor.html",
            {"form": code_form, "state": "need_code", "next": next_url},
        )

    form = TokenForm(request.POST if "token" in request.POST else None)
    if form.is_bound and form.is_valid():
        if services.enrolment_confirm(device=pending, token=form.cleaned_data["token"]):
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, pending)
            messages.success(request, "Two-factor sign-in is set up.")
            return redirect(next_url)
        form.add_error("token", "That code is not right or has expired: enter the current code from your app")
    return _setup_page(request, form, pending, next_url)


def _pending_enrolment(request) -> TOTPDevice | None:
    """The unconfirmed authenticator this session unlocked with an enrolment code, if any."""
    device_id = request.session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(device_id, int):
        return None
    device = TOTPDevice.objects.filter(pk=device_id, user=request.user, confirmed=False).first()
    if device is None:
        request.session.pop(ENROLMENT_SESSION_KEY, None)
    return device


def _setup_page(request, form, device: TOTPDevice, next_url: str):
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "state": "setup", "next": next_url, **services.authenticator_setup(device)},
    )
