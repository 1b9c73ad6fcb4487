from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import UserForm
from accounts.models import User
from accounts.roles import ADMINISTRATOR


def _require_admin(user) -> None:
    if not user.has_role(ADMINISTRATOR):
        raise PermissionDenied


@login_required
def user_list(request):
    _require_admin(request.user)
    users = User.objects.select_related("team").prefetch_related("groups").order_by("last_name", "first_name")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page})


@login_required
def user_edit(request, pk: int | None = None):
    _require_admin(request.user)
    instance = get_object_or_404(User, pk=pk) if pk else None
    form = UserForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
        messages.success(request, f"{user} has been saved.")
        return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "editing": instance})


@login_required
def two_factor(request):
    """Set up (first time) or verify the TOTP code, then carry on where the user was going."""
    import base64
    import io

    import qrcode
    import qrcode.image.svg
    from django.utils.http import url_has_allowed_host_and_scheme
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.forms import TokenForm

    user = request.user
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    setting_up = device is None
    if setting_up:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=False
        )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is set up." if setting_up else "Code accepted.")
            return redirect(next_url)
        form.add_error("token", "That code is not right or has expired: enter the current code from your app")
    qr_svg = None
    if setting_up:
        image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
        buffer = io.BytesIO()
        image.save(buffer)
        qr_svg = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
    secret = base64.b32encode(device.bin_key).decode() if setting_up else None
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "setting_up": setting_up, "qr_svg": qr_svg, "secret": secret, "next": next_url},
    )
