"""Writes for accounts: saving a user, enrolment codes, two-factor resets, the first administrator.

Two-factor enrolment (ADR 0012): an authenticator is set up only by someone holding a
single-use, expiring enrolment code issued to that account, when the account is created, when
an administrator resets its two-factor (with a recorded reason and an email to the owner), or by
`manage.py create_administrator` / `reset_two_factor`. Only the code's SHA-256 is stored; the
code has 80 random bits, so a slow hash would add nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.audit import record, role_changes
from accounts.models import EnrolmentCode, RoleChange, TwoFactorReset, User
from accounts.signals import team_joined
from kit.dates import long_datetime

REASON_MIN_LENGTH = 20


class AccountRefused(Exception):
    """A change the rules do not allow; the message says why, in words for staff."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class AccountChanged(AccountRefused):
    """Someone else saved the account since this administrator opened it (ADR 0004)."""


@dataclass(frozen=True)
class IssuedCode:
    """The plain code, shown or sent once and never stored."""

    code: str
    expires_at: datetime

    @property
    def link(self) -> str:
        return enrolment_link(self.code)


# --- Enrolment codes ---------------------------------------------------------------------------


def normalise_code(text: str) -> str:
    """What the user typed, without spaces, hyphens or case (codes are read out and retyped)."""
    return "".join(ch for ch in (text or "").upper() if ch.isascii() and ch.isalnum())[:64]


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def enrolment_link(code: str) -> str:
    return f"{settings.EARLYHELP_BASE_URL}{reverse('accounts:two_factor')}?{urlencode({'code': code})}"


def enrolment_code_issue(*, user: User, by: User | None, now: datetime) -> IssuedCode:
    """A new code for `user`; any earlier unused code stops working (its row stays, as a record)."""
    EnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    expires_at = now + timedelta(hours=settings.TWO_FACTOR_ENROLMENT_HOURS)
    EnrolmentCode.objects.create(
        user=user,
        code_hash=_hash(raw),
        issued_by_id=by.pk if by is not None else None,
        issued_at=now,
        expires_at=expires_at,
    )
    return IssuedCode(code="-".join(raw[i : i + 4] for i in range(0, len(raw), 4)), expires_at=expires_at)


def enrolment_code_redeem(*, user: User, code: str, now: datetime) -> bool:
    """Use the code up (once, before it expires, only by its own account); True if it was good."""
    if not normalise_code(code):
        return False
    return bool(
        EnrolmentCode.objects.filter(
            user_id=user.pk, code_hash=_hash(code), used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
    )


def enrolment_start(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed authenticator for the account (after a code was redeemed)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        return TOTPDevice.objects.create(user_id=user.pk, name="Authenticator app", confirmed=False)


def authenticator_setup(device: TOTPDevice) -> dict[str, str]:
    """What the setup page shows for a new authenticator: its QR code (an SVG data URL) and key."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    qr_svg = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"qr_svg": qr_svg, "secret": base64.b32encode(device.bin_key).decode()}


def enrolment_confirm(*, device: TOTPDevice, token: str) -> bool:
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


def send_enrolment_code(*, user: User, issued: IssuedCode, intro: str) -> bool:
    """Email the code to the account's owner; False if the account has no address. Send errors raise."""
    if not user.email:
        return False
    expires = timezone.localtime(issued.expires_at)
    body = (
        f"{intro}\n\n"
        "To set up two-factor sign-in, sign in with your username and password, then open this link:\n"
        f"{issued.link}\n\n"
        f"or enter this enrolment code when asked: {issued.code}\n\n"
        f"The code works once and only until {long_datetime(expires)}. You will need an "
        "authenticator app on your work phone.\n"
    )
    send_mail(f"{settings.SERVICE_NAME}: set up two-factor sign-in", body, None, [user.email], fail_silently=False)
    return True


# --- Two-factor reset --------------------------------------------------------------------------


def two_factor_reset(
    *, user: User, by: User | None, reason: str, now: datetime, source: str = RoleChange.Source.USERS_PAGES
) -> tuple[TwoFactorReset, IssuedCode]:
    """Remove the account's authenticators and issue an enrolment code, recording who, when and why.

    The caller emails the owner after the transaction (`notify_owner_of_reset`).
    """
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise AccountRefused(f"Give a fuller reason (at least {REASON_MIN_LENGTH} characters)", field="reason")
    if by is not None and by.pk == user.pk:
        raise AccountRefused("You cannot reset your own two-factor sign-in: ask another administrator.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        removed, _ = TOTPDevice.objects.filter(user_id=locked.pk).delete()
        reset = TwoFactorReset.objects.create(
            user=locked,
            reset_by_id=by.pk if by is not None else None,
            reset_at=now,
            reason=reason,
            devices_removed=removed,
            source=source,
            owner_notified_at_address=locked.email,
        )
        issued = enrolment_code_issue(user=locked, by=by, now=now)
    return reset, issued


def notify_owner_of_reset(*, reset: TwoFactorReset, issued: IssuedCode) -> bool:
    by = str(reset.reset_by) if reset.reset_by_id else "a system administrator (command line)"
    when = timezone.localtime(reset.reset_at)
    intro = (
        f"Your two-factor sign-in was reset by {by} on {long_datetime(when)}.\n"
        f"Reason given: {reset.reason}\n\n"
        "If you did not ask for this, tell your manager and your information governance lead now: "
        "someone may be trying to use your account."
    )
    return send_enrolment_code(user=reset.user, issued=issued, intro=intro)


# --- Saving an account from the users pages ----------------------------------------------------


def user_save(*, form, by: User, now: datetime) -> tuple[User, IssuedCode | None]:
    """Save the users-page form: version check, no change to one's own roles or team, history.

    A new account also gets its two-factor enrolment code (returned, for showing once and emailing).
    """
    data = form.cleaned_data
    new_roles = set(data.get("roles") or ())
    creating = form.instance.pk is None
    with transaction.atomic(), role_changes(by=by, source=RoleChange.Source.USERS_PAGES, now=now):
        if not creating:
            locked = User.objects.select_for_update().get(pk=form.instance.pk)
            if data.get("version") != locked.version:
                raise AccountChanged(
                    f"{locked} was changed by someone else while you were editing. Their changes are shown "
                    "below where you had not changed a field; check and save again.",
                )
            if locked.pk == by.pk:
                _refuse_own_changes(locked, data, new_roles)
            version = locked.version + 1
            team_before = locked.team_id
        else:
            version = 1
            team_before = None
        user = form.save(commit=False)
        user.version = version
        if data.get("new_password"):
            user.set_password(data["new_password"])
        user.save()
        # Roles are defined in code (accounts/roles.py); the group of each exists (roles migration) or is made.
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in new_roles])
        if user.team_id and user.team_id != team_before and roles.PRACTITIONER in new_roles:
            # A practitioner joining a team starts their supervision cycle (B20): workflows records it.
            team_joined.send(sender=User, worker=user, actor=by, now=now)
        if data.get("new_password") and not creating:
            # Whoever knows the password can sign in as its owner: recorded, and the owner is told.
            record(user_id=user.pk, what=RoleChange.What.PASSWORD, before="", after="set by an administrator")
            if user.email:
                transaction.on_commit(partial(_tell_owner_password_set, user.pk, by.pk, now), robust=True)
        issued = enrolment_code_issue(user=user, by=by, now=now) if creating else None
    return user, issued


def _tell_owner_password_set(user_id: int, by_id: int, now: datetime) -> None:
    user, by = User.objects.get(pk=user_id), User.objects.get(pk=by_id)
    body = (
        f"The password of your account ({user.username}) was set by {by} on "
        f"{long_datetime(timezone.localtime(now))}.\n\n"
        "If you did not ask for this, tell your manager and your information governance lead now."
    )
    send_mail(f"{settings.SERVICE_NAME}: your password was changed", body, None, [user.email], fail_silently=False)


def _refuse_own_changes(current: User, data: dict, new_roles: set[str]) -> None:
    current_roles = set(current.groups.values_list("name", flat=True))
    if new_roles != current_roles:
        raise AccountRefused("You cannot change your own roles. Ask another administrator to do it.", field="roles")
    for name, label in (("team", "team"), ("service", "service")):
        new = data.get(name)
        if (new.pk if new else None) != getattr(current, f"{name}_id"):
            raise AccountRefused(f"You cannot change your own {label}. Ask another administrator to do it.", field=name)


# --- The first administrator -------------------------------------------------------------------


def administrator_create(
    *, username: str, email: str, password: str, first_name: str = "", last_name: str = "", now: datetime
) -> tuple[User, IssuedCode]:
    """An account with the Administrator role (not a superuser) and an enrolment code for its first sign-in."""
    with transaction.atomic(), role_changes(by=None, source=RoleChange.Source.COMMAND, now=now):
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=roles.ADMINISTRATOR)[0])
        issued = enrolment_code_issue(user=user, by=None, now=now)
    return user, issued
