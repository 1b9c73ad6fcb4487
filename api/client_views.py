"""The administrator's pages for API clients: the list, a new client (its token shown once), a client
secret for OAuth client credentials (created or rotated, shown once: ADR 54), the client's token rotated
(the new one shown once, the old one ended at once), revoking."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import ADMINISTRATOR
from api import services
from api.forms import ClientForm, RevokeForm, SecretForm, TokenRotateForm
from api.models import ApiClient
from kit.permissions import require_role

TOKEN_SESSION_KEY = "api_client_token_to_show"  # noqa: S105 (a session key, not a secret)
SECRET_SESSION_KEY = "api_client_secret_to_show"  # noqa: S105 (a session key, not a secret)


@login_required
def client_list(request):
    require_role(request.user, ADMINISTRATOR)
    clients = ApiClient.objects.select_related("user__team", "user__service", "created_by").prefetch_related(
        "user__groups"
    )
    issued = request.session.pop(TOKEN_SESSION_KEY, None)
    secret = request.session.pop(SECRET_SESSION_KEY, None)
    context = {
        "clients": clients,
        "issued": issued,
        "secret": secret,
        "access_token_minutes": settings.API_ACCESS_TOKEN_SECONDS // 60,
    }
    return render(request, "api/client_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request):
    require_role(request.user, ADMINISTRATOR)
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_client_create(
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
                service=form.cleaned_data["service"],
                by=request.user,
                now=timezone.now(),
            )
        except services.ClientRefused as exc:
            form.add_error(exc.field, str(exc))
        else:
            # Shown once, on the next page; only its hash is kept.
            request.session[TOKEN_SESSION_KEY] = {"name": issued.client.name, "token": issued.token}
            return redirect("api_clients:client_list")
    return render(request, "api/client_form.html", {"form": form})


@login_required
@require_POST
def client_revoke(request):
    require_role(request.user, ADMINISTRATOR)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That client no longer exists or has already been revoked.")
        return redirect("api_clients:client_list")
    client = services.api_client_revoke(client=form.cleaned_data["client"], by=request.user, now=timezone.now())
    messages.success(request, f"{client.name}'s token no longer works.")
    return redirect("api_clients:client_list")


@login_required
@require_POST
def client_secret(request):
    """A client secret for OAuth client credentials: the first, or a new one in place of the old (rotation)."""
    require_role(request.user, ADMINISTRATOR)
    form = SecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That client no longer exists or has been revoked.")
        return redirect("api_clients:client_list")
    had_one = bool(form.cleaned_data["client"].secret_hash)
    try:
        issued = services.api_client_secret_rotate(
            client=form.cleaned_data["client"], by=request.user, now=timezone.now()
        )
    except services.ClientRefused as exc:
        messages.error(request, str(exc))
        return redirect("api_clients:client_list")
    # Shown once, on the next page; only its hash is kept.
    request.session[SECRET_SESSION_KEY] = {
        "name": issued.client.name,
        "client_id": issued.client.client_id,
        "secret": issued.secret,
        "rotated": had_one,
    }
    return redirect("api_clients:client_list")


@login_required
@require_POST
def client_token(request):
    """A new long-lived token for the client in place of the old one, which stops working at once."""
    require_role(request.user, ADMINISTRATOR)
    form = TokenRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That client no longer exists or has been revoked.")
        return redirect("api_clients:client_list")
    try:
        issued = services.api_client_token_rotate(
            client=form.cleaned_data["client"], by=request.user, now=timezone.now()
        )
    except services.ClientRefused as exc:
        messages.error(request, str(exc))
        return redirect("api_clients:client_list")
    # Shown once, on the next page; only its hash is kept.
    request.session[TOKEN_SESSION_KEY] = {"name": issued.client.name, "token": issued.token, "rotated": True}
    return redirect("api_clients:client_list")
